/* SPDX-License-Identifier: GPL-3.0-or-later */
/* virtio-blk: a block-layer disk image as a modern virtio PCI block device. */
#pragma once

#include "vmm/device.h"

extern const VmmDeviceType virtio_blk_type;
