/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Where Boxwood keeps things (user home, global file, machine folder, runtime dir), log
 * rotation and the crash-safe file writer shared by the machine and global settings.
 */
#define G_LOG_DOMAIN "bw-paths"
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "bw-settings.h"

G_DEFINE_QUARK(bw-settings-error-quark, bw_settings_error)

char *bw_paths_user_home(void)
{
    const char *env = g_getenv("BOXWOOD_USER_HOME");

    if (env != NULL && env[0] != '\0') {
        return g_canonicalize_filename(env, NULL);
    }
    return g_build_filename(g_get_user_config_dir(), "boxwood", NULL);
}

char *bw_paths_global_file(void)
{
    g_autofree char *home = bw_paths_user_home();

    return g_build_filename(home, "Boxwood.xml", NULL);
}

char *bw_paths_default_machine_folder(void)
{
    return g_build_filename(g_get_home_dir(), "Boxwood VMs", NULL);
}

/*
 * A private directory for sockets and locks: it must be ours, a real directory (not a
 * symlink someone planted in /tmp) and closed to others, or a local user could hijack
 * the service socket.
 */
static bool ensure_private_dir(const char *dir, GError **error)
{
    struct stat st;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        int e = errno;
        g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_IO,
                    "Cannot create the runtime directory %s: %s", dir, g_strerror(e));
        return false;
    }
    if (lstat(dir, &st) != 0) {
        int e = errno;
        g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_IO,
                    "Cannot inspect the runtime directory %s: %s", dir, g_strerror(e));
        return false;
    }
    if (!S_ISDIR(st.st_mode) || st.st_uid != getuid()) {
        g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_IO,
                    "The runtime directory %s is not a directory owned by you; remove it "
                    "and try again", dir);
        return false;
    }
    if ((st.st_mode & 0077) != 0 && chmod(dir, 0700) != 0) {
        int e = errno;
        g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_IO,
                    "Cannot make the runtime directory %s private: %s", dir, g_strerror(e));
        return false;
    }
    return true;
}

char *bw_paths_runtime_dir(GError **error)
{
    const char *xdg = g_getenv("XDG_RUNTIME_DIR");
    g_autofree char *dir = NULL;

    if (xdg != NULL && xdg[0] == '/') {
        dir = g_build_filename(xdg, "boxwood", NULL);
    } else {
        dir = g_strdup_printf("%s/boxwood-%u", g_get_tmp_dir(), (unsigned)getuid());
    }
    if (!ensure_private_dir(dir, error)) {
        return NULL;
    }
    return g_steal_pointer(&dir);
}

bool bw_logs_rotate(const char *dir, const char *base_name, unsigned keep, GError **error)
{
    g_autofree char *base = g_build_filename(dir, base_name, NULL);

    if (g_mkdir_with_parents(dir, 0755) != 0) {
        int e = errno;
        g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_IO,
                    "Cannot create the log directory %s: %s", dir, g_strerror(e));
        return false;
    }
    if (keep == 0) {
        if (unlink(base) != 0 && errno != ENOENT) {
            int e = errno;
            g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_IO,
                        "Cannot remove %s: %s", base, g_strerror(e));
            return false;
        }
        return true;
    }
    /* The oldest one falls off; the others move up by one, newest last so that a failure
     * half-way loses at most the oldest log. */
    g_autofree char *oldest = g_strdup_printf("%s.%u", base, keep);
    if (unlink(oldest) != 0 && errno != ENOENT) {
        int e = errno;
        g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_IO,
                    "Cannot remove %s: %s", oldest, g_strerror(e));
        return false;
    }
    for (unsigned i = keep; i >= 1; i--) {
        g_autofree char *from = i == 1 ? g_strdup(base) : g_strdup_printf("%s.%u", base, i - 1);
        g_autofree char *to = g_strdup_printf("%s.%u", base, i);

        if (rename(from, to) != 0 && errno != ENOENT) {
            int e = errno;
            g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_IO,
                        "Cannot rotate %s to %s: %s", from, to, g_strerror(e));
            return false;
        }
    }
    return true;
}

static bool write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        data += n;
        len -= (size_t)n;
    }
    return true;
}

static bool fsync_dir_of(const char *path)
{
    g_autofree char *dir = g_path_get_dirname(path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    bool ok;

    if (fd < 0) {
        return false;
    }
    ok = fsync(fd) == 0 || errno == EINVAL; /* some file systems cannot sync directories */
    close(fd);
    return ok;
}

/*
 * VirtualBox's order (-tmp, old → -prev, -tmp → file, directory flush), with one
 * difference: the old file is hard-linked to -prev instead of renamed, so <file> exists
 * at every instant and a reader never sees it missing. Where hard links do not work we
 * fall back to the rename. A -tmp left over by a crash is simply overwritten next time.
 */
bool bw_settings_write_file_safely(const char *path, const char *data, size_t len,
                                   GError **error)
{
    g_autofree char *tmp = g_strconcat(path, "-tmp", NULL);
    g_autofree char *prev = g_strconcat(path, "-prev", NULL);
    struct stat st;
    mode_t mode = 0644;
    bool have_old = false;
    int fd;

    if (stat(path, &st) == 0) {
        if (!S_ISREG(st.st_mode)) {
            g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_IO,
                        "Cannot write %s: it is not a regular file", path);
            return false;
        }
        mode = st.st_mode & 0777;
        /* Like VirtualBox, an almost empty file is not worth keeping as -prev. */
        have_old = st.st_size >= 16;
    }

    unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) {
        int e = errno;
        g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_IO,
                    "Cannot create %s: %s", tmp, g_strerror(e));
        return false;
    }
    if (!write_all(fd, data, len) || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_IO,
                    "Cannot write %s: %s (is the disk full?)", tmp, g_strerror(e));
        return false;
    }
    if (close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_IO,
                    "Cannot write %s: %s", tmp, g_strerror(e));
        return false;
    }

    if (have_old) {
        if (unlink(prev) != 0 && errno != ENOENT) {
            int e = errno;
            unlink(tmp);
            g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_IO,
                        "Cannot remove %s: %s", prev, g_strerror(e));
            return false;
        }
        if (link(path, prev) != 0 && rename(path, prev) != 0) {
            int e = errno;
            unlink(tmp);
            g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_IO,
                        "Cannot keep the previous %s as %s: %s", path, prev, g_strerror(e));
            return false;
        }
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_IO,
                    "Cannot replace %s: %s (the new content is in %s)", path, g_strerror(e),
                    tmp);
        return false;
    }
    if (!fsync_dir_of(path)) {
        int e = errno;
        g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_IO,
                    "Cannot flush the directory of %s: %s", path, g_strerror(e));
        return false;
    }
    return true;
}
