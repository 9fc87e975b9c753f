/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The configuration tree (CFGM's role): named nodes holding typed values, built by
 * the front end (command line now, machine settings later) and read by the board
 * and the devices. Paths use '/' as separator, e.g. "Devices/serial/0/Config".
 */
#pragma once

#include <gio/gio.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct VmmCfgNode VmmCfgNode;

typedef enum {
    VMM_CFG_INTEGER,
    VMM_CFG_STRING,
    VMM_CFG_BYTES,
} VmmCfgType;

VmmCfgNode *vmm_cfg_new(void);
/* Frees the node and its subtree. Only for roots (or detached nodes). */
void vmm_cfg_free(VmmCfgNode *node);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmmCfgNode, vmm_cfg_free)

/* Borrowed child at @path, or NULL. */
VmmCfgNode *vmm_cfg_get_child(VmmCfgNode *node, const char *path);
/* Borrowed child at @path, created with its parents when missing. */
VmmCfgNode *vmm_cfg_ensure_child(VmmCfgNode *node, const char *path);
const char *vmm_cfg_node_name(VmmCfgNode *node);
VmmCfgNode *vmm_cfg_first_child(VmmCfgNode *node);
VmmCfgNode *vmm_cfg_next_sibling(VmmCfgNode *node);

void vmm_cfg_set_int(VmmCfgNode *node, const char *key, uint64_t value);
void vmm_cfg_set_string(VmmCfgNode *node, const char *key, const char *value);
void vmm_cfg_set_bytes(VmmCfgNode *node, const char *key, const void *data, size_t len);

/* Iterate a node's keys: index 0 .. n-1. */
unsigned vmm_cfg_n_values(VmmCfgNode *node);
const char *vmm_cfg_value_key(VmmCfgNode *node, unsigned index);

bool vmm_cfg_has(VmmCfgNode *node, const char *key);
/* Typed getters: false (and *out untouched) when absent; a GError when present with another type. */
bool vmm_cfg_get_int(VmmCfgNode *node, const char *key, uint64_t *out, GError **error);
bool vmm_cfg_get_string(VmmCfgNode *node, const char *key, const char **out, GError **error);
/* Getters with defaults; a value of the wrong type counts as absent. */
uint64_t vmm_cfg_int_or(VmmCfgNode *node, const char *key, uint64_t def);
const char *vmm_cfg_string_or(VmmCfgNode *node, const char *key, const char *def);

/* Human-readable dump (for the VM log), indented by depth. */
void vmm_cfg_dump(VmmCfgNode *node, GString *out);
