/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "vmm-dev"
#include <string.h>

#include <gio/gio.h>

#include "device.h"
#include "machine.h"

static uint64_t prop_type_max(VmmPropType t)
{
    switch (t) {
    case VMM_PROP_BOOL:
        return 1;
    case VMM_PROP_U8:
        return UINT8_MAX;
    case VMM_PROP_U16:
        return UINT16_MAX;
    case VMM_PROP_U32:
        return UINT32_MAX;
    default:
        return UINT64_MAX;
    }
}

static void prop_store_int(void *field, VmmPropType t, uint64_t v)
{
    switch (t) {
    case VMM_PROP_BOOL:
        *(bool *)field = v != 0;
        break;
    case VMM_PROP_U8:
        *(uint8_t *)field = (uint8_t)v;
        break;
    case VMM_PROP_U16:
        *(uint16_t *)field = (uint16_t)v;
        break;
    case VMM_PROP_U32:
        *(uint32_t *)field = (uint32_t)v;
        break;
    case VMM_PROP_U64:
        *(uint64_t *)field = v;
        break;
    case VMM_PROP_STRING:
        break;
    }
}

static bool prop_known(const VmmDeviceType *type, const char *key)
{
    for (const VmmPropDesc *p = type->props; p != NULL && p->name != NULL; p++) {
        if (strcmp(p->name, key) == 0) {
            return true;
        }
    }
    return false;
}

static bool device_set_props(VmmDevice *dev, GError **error)
{
    const VmmDeviceType *type = dev->type;
    uint8_t *base = (uint8_t *)dev;

    for (const VmmPropDesc *p = type->props; p != NULL && p->name != NULL; p++) {
        void *field = base + p->offset;
        if (p->type == VMM_PROP_STRING) {
            const char *s = p->def_str;
            GError *local = NULL;
            vmm_cfg_get_string(dev->cfg, p->name, &s, &local);
            if (local != NULL) {
                g_propagate_prefixed_error(error, local, "%s: ", dev->id);
                return false;
            }
            *(char **)field = g_strdup(s);
            continue;
        }
        uint64_t v = p->def;
        GError *local = NULL;
        vmm_cfg_get_int(dev->cfg, p->name, &v, &local);
        if (local != NULL) {
            g_propagate_prefixed_error(error, local, "%s: ", dev->id);
            return false;
        }
        uint64_t max = p->max ? p->max : prop_type_max(p->type);
        if (v < p->min || v > max) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "%s: property %s = %" G_GUINT64_FORMAT " is out of range %" G_GUINT64_FORMAT
                        "..%" G_GUINT64_FORMAT "%s%s",
                        dev->id, p->name, v, p->min, max, p->help ? " — " : "",
                        p->help ? p->help : "");
            return false;
        }
        prop_store_int(field, p->type, v);
    }
    return true;
}

/* Rejects keys the type does not know, so a typo in a config tree is an error, not a no-op. */
static bool device_check_keys(VmmDevice *dev, GError **error)
{
    for (unsigned i = 0; i < vmm_cfg_n_values(dev->cfg); i++) {
        const char *key = vmm_cfg_value_key(dev->cfg, i);
        if (!prop_known(dev->type, key)) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "%s: device type %s has no property \"%s\"", dev->id, dev->type->name,
                        key);
            return false;
        }
    }
    return true;
}

static void device_free_props(VmmDevice *dev)
{
    uint8_t *base = (uint8_t *)dev;
    for (const VmmPropDesc *p = dev->type->props; p != NULL && p->name != NULL; p++) {
        if (p->type == VMM_PROP_STRING) {
            g_clear_pointer((char **)(base + p->offset), g_free);
        }
    }
}

VmmDevice *vmm_device_create(VmmMachine *m, const VmmDeviceType *type, const char *id,
                             VmmCfgNode *cfg, GError **error)
{
    g_return_val_if_fail(type->instance_size >= sizeof(VmmDevice), NULL);
    g_return_val_if_fail(type->realize != NULL, NULL);

    if (vmm_device_find(m, id) != NULL) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS, "a device named %s already exists", id);
        return NULL;
    }
    VmmDevice *dev = g_malloc0(type->instance_size);
    dev->type = type;
    dev->machine = m;
    dev->id = g_strdup(id);
    dev->cfg = cfg;
    g_mutex_init(&dev->lock);

    if (!device_check_keys(dev, error) || !device_set_props(dev, error) ||
        !type->realize(dev, error)) {
        device_free_props(dev);
        g_mutex_clear(&dev->lock);
        g_free(dev->id);
        g_free(dev);
        return NULL;
    }
    g_ptr_array_add(m->devices, dev);
    return dev;
}

VmmDevice *vmm_device_find(VmmMachine *m, const char *id)
{
    for (guint i = 0; i < m->devices->len; i++) {
        VmmDevice *d = m->devices->pdata[i];
        if (strcmp(d->id, id) == 0) {
            return d;
        }
    }
    return NULL;
}

void vmm_device_reset(VmmDevice *dev)
{
    if (dev->type->reset != NULL) {
        g_mutex_lock(&dev->lock);
        dev->type->reset(dev);
        g_mutex_unlock(&dev->lock);
    }
}

void vmm_device_destroy(VmmDevice *dev)
{
    if (dev->type->unrealize != NULL) {
        dev->type->unrealize(dev);
    }
    device_free_props(dev);
    g_mutex_clear(&dev->lock);
    g_free(dev->id);
    g_free(dev);
}
