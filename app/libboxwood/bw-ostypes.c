/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The guest OS types Boxwood knows by VirtualBox id, with the defaults a new machine of
 * that type gets. Ids not in the table are still accepted in settings files (VirtualBox
 * has many more); this list is what `list ostypes` shows and what createvm suggests.
 */
#define G_LOG_DOMAIN "bw-ostypes"
#include <glib.h>
#include <string.h>

#include "bw-settings.h"

static const BwOsType os_types[] = {
    /* id              description                     family     MiB  GiB  64bit  efi */
    { "Other",         "Other/Unknown",                "Other",    64,   2, false, false },
    { "Other_64",      "Other/Unknown (64-bit)",       "Other",   512,   2, true,  false },
    { "DOS",           "DOS",                          "Other",    32,   1, false, false },
    { "Linux",         "Other Linux (32-bit)",         "Linux",   256,   8, false, false },
    { "Linux_64",      "Other Linux (64-bit)",         "Linux",   512,   8, true,  false },
    { "Linux26",       "Linux 2.6 / 3.x / 4.x (32-bit)", "Linux", 256,   8, false, false },
    { "Linux26_64",    "Linux 2.6 / 3.x / 4.x (64-bit)", "Linux", 512,   8, true,  false },
    { "Debian",        "Debian (32-bit)",              "Linux",  1024,  20, false, false },
    { "Debian_64",     "Debian (64-bit)",              "Linux",  2048,  20, true,  false },
    { "Ubuntu",        "Ubuntu (32-bit)",              "Linux",  1024,  25, false, false },
    { "Ubuntu_64",     "Ubuntu (64-bit)",              "Linux",  2048,  25, true,  false },
    { "Fedora_64",     "Fedora (64-bit)",              "Linux",  2048,  25, true,  false },
    { "ArchLinux_64",  "Arch Linux (64-bit)",          "Linux",  1024,   8, true,  false },
    { "OpenSUSE_64",   "openSUSE (64-bit)",            "Linux",  2048,   8, true,  false },
    { "RedHat_64",     "Red Hat (64-bit)",             "Linux",  2048,  20, true,  false },
    { "WindowsXP",     "Windows XP (32-bit)",          "Windows", 192,  10, false, false },
    { "Windows7",      "Windows 7 (32-bit)",           "Windows", 1024, 25, false, false },
    { "Windows7_64",   "Windows 7 (64-bit)",           "Windows", 2048, 32, true,  false },
    { "Windows10_64",  "Windows 10 (64-bit)",          "Windows", 2048, 50, true,  false },
    { "Windows11_64",  "Windows 11 (64-bit)",          "Windows", 4096, 80, true,  true  },
    { "FreeBSD_64",    "FreeBSD (64-bit)",             "BSD",      512,  16, true,  false },
};

const BwOsType *bw_os_types(size_t *n)
{
    if (n != NULL) {
        *n = G_N_ELEMENTS(os_types);
    }
    return os_types;
}

const BwOsType *bw_os_type_find(const char *id)
{
    if (id == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(os_types); i++) {
        /* VirtualBox compares OS type ids case-insensitively too. */
        if (g_ascii_strcasecmp(os_types[i].id, id) == 0) {
            return &os_types[i];
        }
    }
    return NULL;
}
