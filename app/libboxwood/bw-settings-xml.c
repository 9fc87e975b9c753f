/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libxml2 plumbing for the settings files: a parser configured for hostile input, and
 * edits that keep the rest of the document byte-for-byte (only set what changed, indent
 * new elements the way VirtualBox does, remove an element with its indentation).
 */
#define G_LOG_DOMAIN "bw-settings"
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlsave.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bw-settings-private.h"

static void silent_error(void *ctx, const char *msg, ...)
{
}

xmlDoc *bw_xml_parse(const char *data, size_t len, const char *path, GError **error)
{
    xmlParserCtxt *ctxt;
    xmlDoc *doc;
    /* No XML_PARSE_NOENT (entities are not substituted), no DTD loading, no network. */
    int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;

    if (len > BW_XML_MAX_FILE) {
        g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_INVALID,
                    "%s: the file is %zu bytes, more than a settings file can be (%u)", path,
                    len, BW_XML_MAX_FILE);
        return NULL;
    }
    static gsize initialised;
    if (g_once_init_enter(&initialised)) {
        xmlInitParser(); /* once, before threads race into the parser */
        g_once_init_leave(&initialised, 1);
    }
    ctxt = xmlNewParserCtxt();
    if (ctxt == NULL) {
        g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_IO, "%s: out of memory", path);
        return NULL;
    }
    /* libxml2 prints some errors (bad encodings) through its generic handler despite
     * XML_PARSE_NOERROR; a library must not write to stderr, and the message reaches
     * the caller through the GError anyway. The handler is per thread. */
    xmlGenericErrorFunc old_handler = xmlGenericError;
    void *old_ctx = xmlGenericErrorContext;
    xmlSetGenericErrorFunc(NULL, silent_error);
    doc = xmlCtxtReadMemory(ctxt, data, (int)len, NULL, NULL, opts);
    xmlSetGenericErrorFunc(old_ctx, old_handler);
    if (doc == NULL || !ctxt->wellFormed) {
        const xmlError *e = xmlCtxtGetLastError(ctxt);
        g_autofree char *msg = g_strdup(e != NULL && e->message != NULL ? e->message
                                                                          : "unknown error");

        g_strchomp(msg);
        g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_PARSE,
                    "%s:%d: not a well-formed XML file: %s", path, e != NULL ? e->line : 0,
                    msg);
        if (doc != NULL) {
            xmlFreeDoc(doc);
        }
        xmlFreeParserCtxt(ctxt);
        return NULL;
    }
    xmlFreeParserCtxt(ctxt);

    /* Settings files never carry a DTD; one here can only declare entities (billion
     * laughs, external files), so refuse it outright. */
    if (doc->intSubset != NULL || doc->extSubset != NULL) {
        g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_INVALID,
                    "%s:%ld: has a DOCTYPE declaration, which settings files never have", path,
                    doc->intSubset != NULL ? xmlGetLineNo((xmlNode *)doc->intSubset) : 1L);
        xmlFreeDoc(doc);
        return NULL;
    }

    /* Depth cap, walked iteratively so the check itself cannot overflow the stack. */
    xmlNode *n = xmlDocGetRootElement(doc);
    int depth = 0;
    while (n != NULL) {
        if (n->type == XML_ENTITY_REF_NODE) {
            g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_INVALID,
                        "%s:%ld: uses an entity reference, which settings files never do",
                        path, xmlGetLineNo(n));
            xmlFreeDoc(doc);
            return NULL;
        }
        if (n->type == XML_ELEMENT_NODE && n->children != NULL) {
            if (++depth > BW_XML_MAX_DEPTH) {
                g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_INVALID,
                            "%s:%ld: elements nest deeper than %d levels", path,
                            xmlGetLineNo(n), BW_XML_MAX_DEPTH);
                xmlFreeDoc(doc);
                return NULL;
            }
            n = n->children;
            continue;
        }
        while (n != NULL && n->next == NULL) {
            n = n->parent;
            depth--;
            if (n == NULL || n->type == XML_DOCUMENT_NODE) {
                n = NULL;
                break;
            }
        }
        if (n != NULL) {
            n = n->next;
        }
    }
    return doc;
}

bool bw_xml_read_file(const char *path, char **data, size_t *len, bool *exists, GError **error)
{
    struct stat st;
    int fd;

    *exists = false;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        *exists = e != ENOENT;
        g_set_error(error, BW_SETTINGS_ERROR,
                    e == ENOENT ? BW_SETTINGS_ERROR_NOT_FOUND : BW_SETTINGS_ERROR_IO,
                    "Cannot open %s: %s", path, g_strerror(e));
        return false;
    }
    *exists = true;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_IO,
                    "Cannot read %s: not a regular file", path);
        return false;
    }
    if ((unsigned long long)st.st_size > BW_XML_MAX_FILE) {
        close(fd);
        g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_INVALID,
                    "%s: the file is %lld bytes, more than a settings file can be (%u)", path,
                    (long long)st.st_size, BW_XML_MAX_FILE);
        return false;
    }
    close(fd);

    g_autoptr(GError) err = NULL;
    gsize n = 0;
    if (!g_file_get_contents(path, data, &n, &err)) {
        g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_IO, "Cannot read %s: %s", path,
                    err->message);
        return false;
    }
    if (n > BW_XML_MAX_FILE) { /* grew between fstat and read */
        g_clear_pointer(data, g_free);
        g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_INVALID,
                    "%s: the file is larger than a settings file can be", path);
        return false;
    }
    *len = n;
    return true;
}

char *bw_xml_dump(xmlDoc *doc, size_t *len)
{
    xmlChar *buf = NULL;
    int n = 0;
    char *out;

    /* Always UTF-8 without an encoding declaration, like VirtualBox; an ISO-8859-1 file
     * from an old version is converted, its meaning unchanged. */
    if (doc->encoding != NULL) {
        xmlFree((xmlChar *)doc->encoding);
        doc->encoding = NULL;
    }
    xmlDocDumpMemory(doc, &buf, &n);
    out = g_strndup((const char *)buf, n > 0 ? (size_t)n : 0);
    xmlFree(buf);
    if (len != NULL) {
        *len = n > 0 ? (size_t)n : 0;
    }
    return out;
}

bool bw_xml_is(const xmlNode *n, const char *name)
{
    return n != NULL && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

xmlNode *bw_xml_child(const xmlNode *parent, const char *name)
{
    if (parent == NULL) {
        return NULL;
    }
    for (xmlNode *c = parent->children; c != NULL; c = c->next) {
        if (bw_xml_is(c, name)) {
            return c;
        }
    }
    return NULL;
}

xmlNode *bw_xml_next(const xmlNode *n, const char *name)
{
    for (xmlNode *c = n->next; c != NULL; c = c->next) {
        if (bw_xml_is(c, name)) {
            return c;
        }
    }
    return NULL;
}

static int element_depth(const xmlNode *n)
{
    int d = -1;

    for (; n != NULL && n->type == XML_ELEMENT_NODE; n = n->parent) {
        d++;
    }
    return d;
}

static xmlNode *indent_text(xmlDoc *doc, int level)
{
    char buf[2 + 2 * 64];
    int k = 0;

    level = CLAMP(level, 0, 64);
    buf[k++] = '\n';
    for (int i = 0; i < level * 2; i++) {
        buf[k++] = ' ';
    }
    buf[k] = '\0';
    return xmlNewDocText(doc, BAD_CAST buf);
}

static bool is_blank_text(const xmlNode *n)
{
    return n != NULL && n->type == XML_TEXT_NODE && xmlIsBlankNode((xmlNode *)n);
}

xmlNode *bw_xml_add_child(xmlNode *parent, const char *name)
{
    xmlDoc *doc = parent->doc;
    int d = element_depth(parent);
    xmlNode *el = xmlNewDocNode(doc, parent->ns, BAD_CAST name, NULL);
    xmlNode *last = parent->last;

    if (last != NULL && is_blank_text(last) && last->prev != NULL) {
        /* <P>ws<A/>ws</P>: insert before the closing indentation. */
        xmlAddPrevSibling(last, el);
        xmlAddPrevSibling(el, indent_text(doc, d + 1));
    } else if (last == NULL || is_blank_text(last)) {
        if (last != NULL) {
            xmlUnlinkNode(last);
            xmlFreeNode(last);
        }
        xmlAddChild(parent, indent_text(doc, d + 1));
        xmlAddChild(parent, el);
        xmlAddChild(parent, indent_text(doc, d));
    } else {
        /* Mixed content (e.g. text): just append, indentation is not ours to fix. */
        xmlAddChild(parent, el);
    }
    return el;
}

void bw_xml_remove(xmlNode *n)
{
    xmlNode *prev = n->prev;
    xmlNode *parent = n->parent;

    if (is_blank_text(prev)) {
        xmlUnlinkNode(prev);
        xmlFreeNode(prev);
    }
    xmlUnlinkNode(n);
    xmlFreeNode(n);
    /* Collapse a parent left with only whitespace to <P/>. */
    if (parent != NULL && parent->children != NULL && parent->children == parent->last &&
        is_blank_text(parent->children)) {
        xmlNode *ws = parent->children;
        xmlUnlinkNode(ws);
        xmlFreeNode(ws);
    }
}

void bw_xml_set(xmlNode *n, const char *attr, const char *value)
{
    xmlChar *cur = xmlGetProp(n, BAD_CAST attr);

    if (value == NULL) {
        if (cur != NULL) {
            xmlAttr *a = xmlHasProp(n, BAD_CAST attr);
            if (a != NULL) {
                xmlRemoveProp(a);
            }
        }
    } else if (cur == NULL || strcmp((const char *)cur, value) != 0) {
        xmlAttr *a = xmlHasProp(n, BAD_CAST attr);
        /* Keep a namespaced attribute's namespace: set through the attribute itself. */
        if (a != NULL && a->ns != NULL) {
            xmlSetNsProp(n, a->ns, BAD_CAST attr, BAD_CAST value);
        } else {
            xmlSetProp(n, BAD_CAST attr, BAD_CAST value);
        }
    }
    if (cur != NULL) {
        xmlFree(cur);
    }
}

void bw_xml_set_uint(xmlNode *n, const char *attr, unsigned long long value)
{
    char buf[32];

    g_snprintf(buf, sizeof(buf), "%llu", value);
    bw_xml_set(n, attr, buf);
}

void bw_xml_set_bool(xmlNode *n, const char *attr, bool value)
{
    bw_xml_set(n, attr, value ? "true" : "false");
}

bool bw_settings_parse_version(const char *v, unsigned *minor)
{
    unsigned long long major, mi;
    char *end = NULL;

    if (v == NULL || !g_ascii_isdigit(v[0])) {
        return false;
    }
    major = g_ascii_strtoull(v, &end, 10);
    if (major != 1 || *end != '.' || !g_ascii_isdigit(end[1])) {
        return false;
    }
    mi = g_ascii_strtoull(end + 1, &end, 10);
    if (mi > 1000 || (*end != '\0' && *end != '-')) {
        return false;
    }
    *minor = (unsigned)mi;
    return true;
}

bool bw_xml_check_root(xmlDoc *doc, const char *path, char **version, unsigned *minor,
                       GError **error)
{
    xmlNode *root = xmlDocGetRootElement(doc);
    xmlChar *v;

    if (!bw_xml_is(root, "VirtualBox")) {
        g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_INVALID,
                    "%s:%ld: the root element is <%s>, not <VirtualBox>: this is not a "
                    "VirtualBox or Boxwood settings file", path,
                    root != NULL ? xmlGetLineNo(root) : 1L,
                    root != NULL ? (const char *)root->name : "(none)");
        return false;
    }
    v = xmlGetProp(root, BAD_CAST "version");
    if (v == NULL) {
        g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_VERSION,
                    "%s:%ld: <VirtualBox> has no version attribute", path, xmlGetLineNo(root));
        return false;
    }
    if (strlen((const char *)v) > 64 || !bw_settings_parse_version((const char *)v, minor)) {
        g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_VERSION,
                    "%s:%ld: cannot handle settings version \"%.64s\"", path,
                    xmlGetLineNo(root), (const char *)v);
        xmlFree(v);
        return false;
    }
    if (*minor < 3) {
        g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_VERSION,
                    "%s:%ld: settings version %s is too old (1.3 is the oldest supported); "
                    "open the machine in VirtualBox 4.x or later once to convert it", path,
                    xmlGetLineNo(root), (const char *)v);
        xmlFree(v);
        return false;
    }
    if (*minor > 22) {
        g_set_error(error, BW_SETTINGS_ERROR, BW_SETTINGS_ERROR_VERSION,
                    "%s:%ld: settings version %s is newer than Boxwood understands (up to "
                    "1.22)", path, xmlGetLineNo(root), (const char *)v);
        xmlFree(v);
        return false;
    }
    *version = g_strdup((const char *)v);
    xmlFree(v);
    return true;
}

char *bw_settings_resolve_path(const char *folder, const char *location, bool *foreign)
{
    *foreign = false;
    if (location == NULL || location[0] == '\0') {
        return NULL;
    }
    /* Drive letters and UNC paths come from machines made on Windows: keep them as
     * written and let the caller ask the user where the file is now. */
    if ((g_ascii_isalpha(location[0]) && location[1] == ':' &&
         (location[2] == '\\' || location[2] == '/')) ||
        (location[0] == '\\' && location[1] == '\\') || strchr(location, '\\') != NULL) {
        *foreign = true;
        return NULL;
    }
    return g_canonicalize_filename(location, folder);
}

/* "{8-4-4-4-12}" or without braces → lower case, braces kept as written. */
bool bw_uuid_normalise(const char *in, char **out)
{
    size_t len = strlen(in);
    g_autofree char *bare = NULL;

    if (len == 38 && in[0] == '{' && in[37] == '}') {
        bare = g_strndup(in + 1, 36);
    } else if (len == 36) {
        bare = g_strdup(in);
    } else {
        return false;
    }
    if (!g_uuid_string_is_valid(bare)) {
        return false;
    }
    *out = g_ascii_strdown(in, -1);
    return true;
}

/* Compare UUIDs ignoring case and braces. */
bool bw_uuid_equal(const char *a, const char *b)
{
    if (a == NULL || b == NULL) {
        return false;
    }
    if (*a == '{') {
        a++;
    }
    if (*b == '{') {
        b++;
    }
    return g_ascii_strncasecmp(a, b, 36) == 0 && strlen(a) >= 36 && strlen(b) >= 36;
}
