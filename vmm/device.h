/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The device framework (PDM's role). A device model is a static const type
 * descriptor plus an instance struct whose first member is VmmDevice. Devices
 * are created by name from the registry in devices/device-list.c, their typed
 * properties filled from the instance's config node before realize().
 *
 * Host back ends (files, sockets, libraries) sit behind small ops tables owned by
 * the device, so a model never calls a host library directly.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

typedef struct VmmMachine VmmMachine;
typedef struct VmmDevice VmmDevice;

typedef enum {
    VMM_PROP_BOOL,
    VMM_PROP_U8,
    VMM_PROP_U16,
    VMM_PROP_U32,
    VMM_PROP_U64,
    VMM_PROP_STRING, /* stored as an owned char * (g_free'd with the device) */
} VmmPropType;

typedef struct {
    const char *name;     /* key in the instance's config node */
    VmmPropType type;
    size_t offset;        /* offset of the field in the instance struct */
    uint64_t def;         /* default for integer/bool properties */
    const char *def_str;  /* default for string properties (may be NULL) */
    uint64_t min, max;    /* accepted range for integers (max 0 = type's range) */
    const char *help;     /* one line for --help and error messages */
} VmmPropDesc;

#define VMM_PROP_INT(type_, name_, Struct, field, def_, min_, max_, help_)                         \
    {                                                                                              \
        .name = (name_), .type = (type_), .offset = offsetof(Struct, field), .def = (def_),        \
        .min = (min_), .max = (max_), .help = (help_)                                              \
    }
#define VMM_PROP_STR(name_, Struct, field, def_, help_)                                           \
    {                                                                                              \
        .name = (name_), .type = VMM_PROP_STRING, .offset = offsetof(Struct, field),               \
        .def_str = (def_), .help = (help_)                                                         \
    }
#define VMM_PROP_END {.name = NULL}

typedef struct VmmDeviceType {
    const char *name;          /* registry key, e.g. "serial16550" */
    const char *description;   /* one line for listings */
    size_t instance_size;      /* sizeof the instance struct (VmmDevice first) */
    const VmmPropDesc *props;  /* VMM_PROP_END-terminated, or NULL */
    /* Required: claim ports/regions/IRQs, open back ends. Properties are already set. */
    bool (*realize)(VmmDevice *dev, GError **error);
    /* Optional: return to the power-on state. Called with every vCPU paused. */
    void (*reset)(VmmDevice *dev);
    /* Optional: release what realize took (regions are dropped with the machine). */
    void (*unrealize)(VmmDevice *dev);
} VmmDeviceType;

struct VmmDevice {
    const VmmDeviceType *type; /* Borrowed */
    VmmMachine *machine;       /* Borrowed */
    char *id;                  /* Owned: instance name, unique in the machine */
    VmmCfgNode *cfg;           /* Borrowed: the instance's config node, may be NULL */
    GMutex lock;               /* guards the device's state; held around its I/O callbacks */
};

/*
 * Allocates an instance, fills its properties from @cfg (validating type and range;
 * unknown keys are an error so typos do not pass silently), realizes it and adds it
 * to the machine. Returns a borrowed pointer (the machine owns devices) or NULL.
 */
VmmDevice *vmm_device_create(VmmMachine *m, const VmmDeviceType *type, const char *id,
                             VmmCfgNode *cfg, GError **error);
/* Finds a realized device by id. */
VmmDevice *vmm_device_find(VmmMachine *m, const char *id);
/* Resets one device (takes its lock). */
void vmm_device_reset(VmmDevice *dev);
/* Frees a device (unrealize + properties). Used by the machine. */
void vmm_device_destroy(VmmDevice *dev);

#define VMM_DEVICE(d) (&(d)->parent)
