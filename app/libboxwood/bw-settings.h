/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The settings model: VirtualBox-schema machine files (.vbox) and the global file
 * (Boxwood.xml), on libxml2. Plain C + GLib (no GObject): the service, the CLI, the
 * runner and the GObject API (bw-client.h) all build on it.
 *
 * Design: a loaded file keeps its whole libxml2 document. The typed view
 * (BwMachineConfig) is filled from the document on load; callers edit the view's
 * fields directly and then call bw_machine_settings_sync() (save and to_data call it
 * too), which writes back only the fields that differ from what was loaded, creating
 * elements where needed. Everything the model does not know — unknown elements,
 * attributes, enum values, comments — stays in the document untouched, so a save
 * changes nothing the caller did not change.
 *
 * Reading is namespace-agnostic (http://www.virtualbox.org/, the old innotek
 * namespace, or none), accepts settings versions 1.3 .. 1.22 with any platform
 * suffix, both StorageControllers placements (sibling of Hardware, or inside it),
 * both Firmware/BIOS layouts and the 1.20 Platform layout. New files are written as
 * 1.19-linux. A loaded file keeps its version unless a change needs a newer one;
 * then the first save after the load copies the file to <name>-<oldversion>.vbox.
 *
 * Saving is crash-safe: write <file>-tmp, fsync, rename the old file to <file>-prev,
 * rename -tmp to <file>, fsync the directory.
 *
 * Errors: BW_SETTINGS_ERROR, messages name the file (and the line for XML and
 * schema problems). A failed load never touches the file.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

G_BEGIN_DECLS

#define BW_SETTINGS_ERROR (bw_settings_error_quark())
GQuark bw_settings_error_quark(void);

typedef enum {
    BW_SETTINGS_ERROR_IO,          /* cannot read/write the file */
    BW_SETTINGS_ERROR_PARSE,       /* not well-formed XML */
    BW_SETTINGS_ERROR_INVALID,     /* well-formed but not a usable settings file */
    BW_SETTINGS_ERROR_VERSION,     /* settings version we cannot handle */
    BW_SETTINGS_ERROR_UNSUPPORTED, /* e.g. <MachineEncrypted> */
    BW_SETTINGS_ERROR_NOT_FOUND,   /* machine / medium / controller not found */
    BW_SETTINGS_ERROR_EXISTS,      /* name or UUID already in use */
} BwSettingsError;

#define BW_SETTINGS_VERSION_NEW "1.19-linux"
#define BW_MAX_NICS 8
#define BW_MAX_UARTS 4
#define BW_MAX_BOOT 4

/* ---- Paths (bw-paths.c) ---------------------------------------------------------- */

/* $BOXWOOD_USER_HOME, else $XDG_CONFIG_HOME/boxwood (g_get_user_config_dir()/boxwood). */
char *bw_paths_user_home(void);
/* <user home>/Boxwood.xml */
char *bw_paths_global_file(void);
/* $HOME/Boxwood VMs (the default when the global file sets none). */
char *bw_paths_default_machine_folder(void);
/* $XDG_RUNTIME_DIR/boxwood, created with mode 0700 (falls back to /tmp/boxwood-<uid>). */
char *bw_paths_runtime_dir(GError **error);
/* Rotate <dir>/VBox.log → .1 → .2 → .3 (the oldest dropped); creates @dir. */
bool bw_logs_rotate(const char *dir, const char *base_name, unsigned keep, GError **error);
/* Crash-safe replace of @path with @data (-tmp, fsync, -prev, rename, dir fsync). */
bool bw_settings_write_file_safely(const char *path, const char *data, size_t len,
                                   GError **error);

/* ---- Machine settings (bw-machine-settings.c) ------------------------------------ */

typedef enum {
    BW_FIRMWARE_BIOS,
    BW_FIRMWARE_EFI, /* EFI, EFI64, EFIDUAL all read as EFI; EFI32 too (we have one OVMF) */
} BwFirmware;

typedef enum {
    BW_BOOT_NONE,
    BW_BOOT_FLOPPY,
    BW_BOOT_DVD,
    BW_BOOT_DISK,
    BW_BOOT_NET,
} BwBootDevice;

typedef enum {
    BW_DEVICE_HARDDISK,
    BW_DEVICE_DVD,
    BW_DEVICE_FLOPPY,
} BwDeviceType;

typedef struct BwMedium BwMedium;
struct BwMedium {
    char *uuid;        /* "{xxxxxxxx-...}" lower case, braces as in the file */
    char *location;    /* as written in the file (relative or absolute) */
    char *path;        /* @location resolved against the machine folder (absolute) */
    char *format;      /* "VDI", "RAW", "VMDK", ... (NULL for DVD images without one) */
    char *type;        /* "Normal", "Immutable", ... or NULL */
    BwDeviceType device;
    BwMedium *parent;  /* borrowed: differencing images point at their parent */
    GPtrArray *children; /* BwMedium *, borrowed (owned by BwMachineConfig.media) */
    /* Added: @location is a Windows path (C:\..., E:/..., \\server\...) kept as
     * written; @path is NULL and callers should offer to relocate the medium. */
    bool foreign_path;
};

typedef struct {
    BwDeviceType type;
    int port;
    int device;
    char *medium_uuid; /* NULL: empty drive (DVD) or host drive */
    char *host_drive;  /* HostDrive@src or NULL */
    bool passthrough, nonrotational, discard, hotpluggable, tempeject;
} BwAttachment;

typedef struct {
    char *name;        /* "SATA", "IDE", ... */
    char *type;        /* AHCI, PIIX3, PIIX4, ICH6, LsiLogic, BusLogic, NVMe, VirtioSCSI, I82078, USB */
    char *bus;         /* derived: "IDE", "SATA", "SCSI", "Floppy", "SAS", "USB", "PCIe", "VirtIO" */
    unsigned port_count;
    bool bootable;
    bool host_io_cache;
    GPtrArray *attachments; /* BwAttachment * */
} BwStorageController;

typedef struct {
    char *name;        /* "" allowed */
    bool tcp;          /* proto 1 = TCP, 0 = UDP */
    char *host_ip;     /* "" = any */
    unsigned host_port;
    char *guest_ip;    /* "" = the guest's DHCP address */
    unsigned guest_port;
} BwNatRule;

typedef struct {
    bool enabled;
    char *mac;         /* 12 hex digits, no separators, upper case (080027......) */
    bool cable;
    char *type;        /* 82540EM (default), 82543GC, 82545EM, Am79C970A, Am79C973, virtio */
    char *attachment;  /* "none", "null", "nat", "bridged", "intnet", "hostonly", "generic", "natnetwork" */
    char *attachment_name; /* bridged ifname, intnet name, ... or NULL */
    GPtrArray *nat_rules; /* BwNatRule * */
} BwNic;

typedef struct {
    bool enabled;
    unsigned io_base;  /* 0x3F8 ... */
    unsigned irq;
    char *mode;        /* "Disconnected", "HostPipe", "HostDevice", "RawFile", "TCP" (as in the file) */
    char *path;        /* file / socket path / tcp port, or NULL */
    bool server;       /* HostPipe/TCP: we create the socket */
} BwUart;

typedef struct BwSnapshot BwSnapshot;
struct BwSnapshot {
    char *uuid;
    char *name;
    char *time_stamp;
    char *description;
    BwSnapshot *parent; /* borrowed */
    GPtrArray *children; /* BwSnapshot *, owned */
};

/* The typed view of one machine file. Callers may change any field (strings: free and
 * replace with g_strdup; arrays: add/remove elements) and then sync/save. */
typedef struct {
    char *uuid;
    char *name;
    char *os_type;
    char *description;      /* NULL when absent */
    char *state_file;       /* Machine@stateFile (saved state) or NULL */
    char *current_snapshot; /* uuid or NULL */
    char *snapshot_folder;  /* as written, "Snapshots" by default */
    bool aborted;

    unsigned memory_mb;
    unsigned cpus;
    unsigned vram_mb;
    unsigned monitor_count;
    char *graphics_controller; /* VBoxVGA, VMSVGA, VBoxSVGA, None ... */
    BwFirmware firmware;
    BwBootDevice boot[BW_MAX_BOOT];
    char *chipset;          /* PIIX3 (default) or ICH9 */
    char *paravirt_provider; /* Default, None, Legacy, Minimal, HyperV, KVM */
    bool ioapic, acpi, pae, long_mode, hwvirt, nested_paging, vpid, large_pages, nested_hw_virt;
    bool rtc_utc;
    char *pointing;         /* HID@Pointing: PS2Mouse, USBTablet, ... */
    char *keyboard;         /* HID@Keyboard: PS2Keyboard, USBKeyboard ... */

    bool audio_enabled;
    char *audio_controller; /* AC97, HDA, SB16 */
    char *audio_driver;     /* Pulse, ALSA, Null, ... (unknown host drivers kept as read) */
    bool audio_in, audio_out;

    bool usb_ohci, usb_ehci, usb_xhci;

    BwNic nics[BW_MAX_NICS];
    BwUart uarts[BW_MAX_UARTS];

    GPtrArray *controllers; /* BwStorageController * (current state, not snapshots) */
    GPtrArray *media;       /* BwMedium *, every medium of the registry, flattened, owned */
    BwSnapshot *snapshots;  /* root snapshot or NULL */
    unsigned snapshot_count;
    GPtrArray *extra_data;  /* pairs: name, value, name, value ... (char *) */
} BwMachineConfig;

typedef struct BwMachineSettings BwMachineSettings;

/* Loads and validates @path. Never writes. */
BwMachineSettings *bw_machine_settings_load(const char *path, GError **error);
/* Same from memory; @path names the file in messages and anchors relative paths. */
BwMachineSettings *bw_machine_settings_load_from_data(const char *data, size_t len,
                                                      const char *path, GError **error);
/* A new machine (defaults: 1.19-linux, 128 MiB, 1 CPU, VMSVGA 16 MiB, BIOS,
 * boot DVD, disk, none, none; NAT e1000 on nic 1 with a random 080027 MAC; no
 * controllers). @uuid NULL → random. @path: where it will be saved. */
BwMachineSettings *bw_machine_settings_new(const char *name, const char *os_type,
                                           const char *uuid, const char *path);
void bw_machine_settings_free(BwMachineSettings *s);

const char *bw_machine_settings_get_path(const BwMachineSettings *s);
/* The folder holding the file (relative medium locations are resolved against it). */
const char *bw_machine_settings_get_folder(const BwMachineSettings *s);
/* "1.16-windows" as read, or the version the next save will write. */
const char *bw_machine_settings_get_version(const BwMachineSettings *s);
/* The mutable view. */
BwMachineConfig *bw_machine_settings_config(BwMachineSettings *s);

/* Writes changed view fields into the document; validates the view (names, ranges,
 * dangling medium references) and refuses with BW_SETTINGS_ERROR_INVALID. */
bool bw_machine_settings_sync(BwMachineSettings *s, GError **error);
/* sync + serialise (UTF-8 XML, VirtualBox-style indentation of new elements). */
char *bw_machine_settings_to_data(BwMachineSettings *s, size_t *len, GError **error);
/* sync + crash-safe write to the settings path (+ version-bump backup copy). */
bool bw_machine_settings_save(BwMachineSettings *s, GError **error);

/* Helpers on the view. */
BwMedium *bw_machine_config_find_medium(BwMachineConfig *c, const char *uuid_or_path);
/* Registers @path in the media registry (reads the image header for its UUID; VDI
 * and raw; ISO files as DVD). Returns the (new or existing) entry. */
BwMedium *bw_machine_settings_register_medium(BwMachineSettings *s, const char *path,
                                              BwDeviceType device, GError **error);
BwStorageController *bw_machine_config_find_controller(BwMachineConfig *c, const char *name);
/* Added: removes a medium from the registry (and from its parent's children). Refused
 * (BW_SETTINGS_ERROR_INVALID) while it has differencing children or is attached in the
 * current state; snapshots still using it are the caller's business (they come later).
 * Never touches the image file. */
bool bw_machine_config_remove_medium(BwMachineConfig *c, const char *uuid_or_path,
                                     GError **error);
/* Added: for files Boxwood may create, overwrite or delete on the machine's behalf
 * (saved state, snapshot folder, NVRAM, logs): resolves @rel against the machine folder
 * and refuses (BW_SETTINGS_ERROR_INVALID) a result outside it, through ".." or through
 * symlinks of existing components. A hostile .vbox must not make us delete ~/.ssh. */
char *bw_machine_settings_resolve_owned_path(const BwMachineSettings *s, const char *rel,
                                             GError **error);
/* Added: the view's arrays free their elements, so new elements must come from these
 * constructors (or be built the same way: g_new0 + g_strdup, arrays with the free
 * functions these set). */
BwStorageController *bw_machine_config_add_controller(BwMachineConfig *c, const char *name,
                                                      const char *type, unsigned port_count);
/* Replaces whatever is at @port/@device. @medium_uuid NULL: empty drive. */
BwAttachment *bw_storage_controller_attach(BwStorageController *sc, BwDeviceType type,
                                           int port, int device, const char *medium_uuid);
bool bw_storage_controller_detach(BwStorageController *sc, int port, int device);
BwNatRule *bw_nic_add_nat_rule(BwNic *nic, const char *name, bool tcp, const char *host_ip,
                               unsigned host_port, const char *guest_ip, unsigned guest_port);
/* Added: "IDE", "SATA", ... for a controller type (NULL when unknown). */
const char *bw_storage_bus_for_type(const char *type);
/* Generates a VirtualBox-style MAC (080027 + 6 random hex digits). */
char *bw_generate_mac(void);
/* "{8-4-4-4-12}" random UUID. */
char *bw_generate_uuid(void);

/* ---- Global settings (bw-global-settings.c) ------------------------------------- */

typedef struct {
    char *uuid;
    char *path; /* absolute path of the .vbox */
} BwMachineEntry;

typedef struct BwGlobalSettings BwGlobalSettings;

/* Loads bw_paths_global_file() (or @path); a missing file gives an empty registry. */
BwGlobalSettings *bw_global_settings_load(const char *path, GError **error);
/* Added: the same from memory (@path names it in messages, anchors relative src and is
 * where bw_global_settings_save() writes). */
BwGlobalSettings *bw_global_settings_load_from_data(const char *data, size_t len,
                                                   const char *path, GError **error);
/* Added: the file the registry was loaded from / will be saved to. */
const char *bw_global_settings_get_path(const BwGlobalSettings *g);
void bw_global_settings_free(BwGlobalSettings *g);
/* BwMachineEntry *, in file order. Edit through the functions below. */
GPtrArray *bw_global_settings_machines(BwGlobalSettings *g);
bool bw_global_settings_add_machine(BwGlobalSettings *g, const char *uuid, const char *path,
                                    GError **error);
bool bw_global_settings_remove_machine(BwGlobalSettings *g, const char *uuid, GError **error);
/* SystemProperties@defaultMachineFolder or bw_paths_default_machine_folder(). */
char *bw_global_settings_get_machine_folder(BwGlobalSettings *g);
/* NULL or "default" resets to the default. */
void bw_global_settings_set_machine_folder(BwGlobalSettings *g, const char *folder);
bool bw_global_settings_save(BwGlobalSettings *g, GError **error);

/* ---- OS types (bw-ostypes.c) ------------------------------------------------------- */

typedef struct {
    const char *id;          /* VirtualBox OSType id: "Debian_64", "Windows10_64" ... */
    const char *description; /* "Debian (64-bit)" */
    const char *family;      /* "Linux", "Windows", "Other" ... */
    unsigned memory_mb;      /* recommended */
    unsigned disk_gb;        /* recommended */
    bool is_64bit;
    bool efi;                /* recommended firmware */
} BwOsType;

const BwOsType *bw_os_types(size_t *n);
const BwOsType *bw_os_type_find(const char *id);

G_END_DECLS
