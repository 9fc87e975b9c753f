/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "vmm-cfg"
#include <string.h>

#include "config.h"

typedef struct {
    char *key;
    VmmCfgType type;
    uint64_t integer;
    GBytes *bytes; /* strings are stored NUL-terminated */
} CfgValue;

struct VmmCfgNode {
    char *name;
    VmmCfgNode *parent;
    GPtrArray *children; /* VmmCfgNode *, insertion order */
    GPtrArray *values;   /* CfgValue * */
};

static void cfg_value_free(gpointer p)
{
    CfgValue *v = p;
    g_free(v->key);
    g_clear_pointer(&v->bytes, g_bytes_unref);
    g_free(v);
}

static VmmCfgNode *cfg_node_new(const char *name, VmmCfgNode *parent)
{
    VmmCfgNode *n = g_new0(VmmCfgNode, 1);
    n->name = g_strdup(name);
    n->parent = parent;
    n->children = g_ptr_array_new_with_free_func((GDestroyNotify)vmm_cfg_free);
    n->values = g_ptr_array_new_with_free_func(cfg_value_free);
    return n;
}

VmmCfgNode *vmm_cfg_new(void)
{
    return cfg_node_new("", NULL);
}

void vmm_cfg_free(VmmCfgNode *node)
{
    if (node == NULL) {
        return;
    }
    g_ptr_array_unref(node->children);
    g_ptr_array_unref(node->values);
    g_free(node->name);
    g_free(node);
}

static VmmCfgNode *cfg_find_direct(VmmCfgNode *node, const char *name, size_t len)
{
    for (guint i = 0; i < node->children->len; i++) {
        VmmCfgNode *c = node->children->pdata[i];
        if (strlen(c->name) == len && memcmp(c->name, name, len) == 0) {
            return c;
        }
    }
    return NULL;
}

static VmmCfgNode *cfg_walk(VmmCfgNode *node, const char *path, bool create)
{
    const char *p = path;

    while (node != NULL && *p != '\0') {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len > 0) {
            VmmCfgNode *c = cfg_find_direct(node, p, len);
            if (c == NULL && create) {
                g_autofree char *name = g_strndup(p, len);
                c = cfg_node_new(name, node);
                g_ptr_array_add(node->children, c);
            }
            node = c;
        }
        p += len;
        if (*p == '/') {
            p++;
        }
    }
    return node;
}

VmmCfgNode *vmm_cfg_get_child(VmmCfgNode *node, const char *path)
{
    return node ? cfg_walk(node, path, false) : NULL;
}

VmmCfgNode *vmm_cfg_ensure_child(VmmCfgNode *node, const char *path)
{
    return cfg_walk(node, path, true);
}

const char *vmm_cfg_node_name(VmmCfgNode *node)
{
    return node->name;
}

VmmCfgNode *vmm_cfg_first_child(VmmCfgNode *node)
{
    return node->children->len > 0 ? node->children->pdata[0] : NULL;
}

VmmCfgNode *vmm_cfg_next_sibling(VmmCfgNode *node)
{
    VmmCfgNode *parent = node->parent;
    guint idx;

    if (parent == NULL || !g_ptr_array_find(parent->children, node, &idx)) {
        return NULL;
    }
    return idx + 1 < parent->children->len ? parent->children->pdata[idx + 1] : NULL;
}

static CfgValue *cfg_lookup(VmmCfgNode *node, const char *key)
{
    if (node == NULL) {
        return NULL;
    }
    for (guint i = 0; i < node->values->len; i++) {
        CfgValue *v = node->values->pdata[i];
        if (strcmp(v->key, key) == 0) {
            return v;
        }
    }
    return NULL;
}

static CfgValue *cfg_slot(VmmCfgNode *node, const char *key)
{
    CfgValue *v = cfg_lookup(node, key);
    if (v == NULL) {
        v = g_new0(CfgValue, 1);
        v->key = g_strdup(key);
        g_ptr_array_add(node->values, v);
    }
    g_clear_pointer(&v->bytes, g_bytes_unref);
    return v;
}

void vmm_cfg_set_int(VmmCfgNode *node, const char *key, uint64_t value)
{
    CfgValue *v = cfg_slot(node, key);
    v->type = VMM_CFG_INTEGER;
    v->integer = value;
}

void vmm_cfg_set_string(VmmCfgNode *node, const char *key, const char *value)
{
    CfgValue *v = cfg_slot(node, key);
    v->type = VMM_CFG_STRING;
    v->bytes = g_bytes_new(value, strlen(value) + 1);
}

void vmm_cfg_set_bytes(VmmCfgNode *node, const char *key, const void *data, size_t len)
{
    CfgValue *v = cfg_slot(node, key);
    v->type = VMM_CFG_BYTES;
    v->bytes = g_bytes_new(data, len);
}

unsigned vmm_cfg_n_values(VmmCfgNode *node)
{
    return node ? node->values->len : 0;
}

const char *vmm_cfg_value_key(VmmCfgNode *node, unsigned index)
{
    if (node == NULL || index >= node->values->len) {
        return NULL;
    }
    return ((CfgValue *)node->values->pdata[index])->key;
}

bool vmm_cfg_has(VmmCfgNode *node, const char *key)
{
    return cfg_lookup(node, key) != NULL;
}

static const char *cfg_type_name(VmmCfgType t)
{
    switch (t) {
    case VMM_CFG_INTEGER:
        return "integer";
    case VMM_CFG_STRING:
        return "string";
    case VMM_CFG_BYTES:
        return "bytes";
    }
    return "?";
}

bool vmm_cfg_get_int(VmmCfgNode *node, const char *key, uint64_t *out, GError **error)
{
    CfgValue *v = cfg_lookup(node, key);
    if (v == NULL) {
        return false;
    }
    if (v->type != VMM_CFG_INTEGER) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "configuration value %s/%s is a %s, expected an integer", node->name, key,
                    cfg_type_name(v->type));
        return false;
    }
    *out = v->integer;
    return true;
}

bool vmm_cfg_get_string(VmmCfgNode *node, const char *key, const char **out, GError **error)
{
    CfgValue *v = cfg_lookup(node, key);
    if (v == NULL) {
        return false;
    }
    if (v->type != VMM_CFG_STRING) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "configuration value %s/%s is a %s, expected a string", node->name, key,
                    cfg_type_name(v->type));
        return false;
    }
    *out = g_bytes_get_data(v->bytes, NULL);
    return true;
}

uint64_t vmm_cfg_int_or(VmmCfgNode *node, const char *key, uint64_t def)
{
    CfgValue *v = cfg_lookup(node, key);
    return (v != NULL && v->type == VMM_CFG_INTEGER) ? v->integer : def;
}

const char *vmm_cfg_string_or(VmmCfgNode *node, const char *key, const char *def)
{
    CfgValue *v = cfg_lookup(node, key);
    return (v != NULL && v->type == VMM_CFG_STRING) ? g_bytes_get_data(v->bytes, NULL) : def;
}

static void cfg_dump(VmmCfgNode *node, GString *out, unsigned depth)
{
    g_string_append_printf(out, "%*s[%s]\n", depth * 2, "", depth == 0 ? "/" : node->name);
    for (guint i = 0; i < node->values->len; i++) {
        CfgValue *v = node->values->pdata[i];
        switch (v->type) {
        case VMM_CFG_INTEGER:
            g_string_append_printf(out, "%*s%s = %" G_GUINT64_FORMAT " (0x%" G_GINT64_MODIFIER
                                   "x)\n",
                                   depth * 2 + 2, "", v->key, v->integer, v->integer);
            break;
        case VMM_CFG_STRING:
            g_string_append_printf(out, "%*s%s = \"%s\"\n", depth * 2 + 2, "", v->key,
                                   (const char *)g_bytes_get_data(v->bytes, NULL));
            break;
        case VMM_CFG_BYTES:
            g_string_append_printf(out, "%*s%s = <%zu bytes>\n", depth * 2 + 2, "", v->key,
                                   g_bytes_get_size(v->bytes));
            break;
        }
    }
    for (guint i = 0; i < node->children->len; i++) {
        cfg_dump(node->children->pdata[i], out, depth + 1);
    }
}

void vmm_cfg_dump(VmmCfgNode *node, GString *out)
{
    cfg_dump(node, out, 0);
}
