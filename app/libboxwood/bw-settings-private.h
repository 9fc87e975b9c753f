/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libxml2 helpers shared by the machine and global settings (bw-machine-settings.c).
 * Not part of the contract: only bw-*-settings.c include this.
 */
#pragma once

#include <libxml/tree.h>

#include "bw-settings.h"

/* Caps on hostile input. Real files are a few KiB and nest < 40 levels. */
#define BW_XML_MAX_FILE (32u * 1024 * 1024)
#define BW_XML_MAX_DEPTH 200
#define BW_XML_MAX_ATTR 32768

/* Parses @data safely (no network, no entity substitution, no DTD, depth and size caps).
 * Errors name @path and the line. */
xmlDoc *bw_xml_parse(const char *data, size_t len, const char *path, GError **error);
/* Reads a whole settings file (size-capped). FALSE + *exists=false when missing. */
bool bw_xml_read_file(const char *path, char **data, size_t *len, bool *exists, GError **error);
/* Serialises as UTF-8 with an `<?xml version="1.0"?>` declaration. */
char *bw_xml_dump(xmlDoc *doc, size_t *len);

/* Namespace-agnostic element lookups. */
bool bw_xml_is(const xmlNode *n, const char *name);
xmlNode *bw_xml_child(const xmlNode *parent, const char *name);
xmlNode *bw_xml_next(const xmlNode *n, const char *name);
/* Adds an element at the end of @parent, indented like VirtualBox (2 spaces a level),
 * in @parent's namespace. */
xmlNode *bw_xml_add_child(xmlNode *parent, const char *name);
/* Unlinks and frees @n and the indentation before it. */
void bw_xml_remove(xmlNode *n);
/* Sets @attr only when the value differs (NULL removes it), so untouched files stay
 * byte-identical. */
void bw_xml_set(xmlNode *n, const char *attr, const char *value);
void bw_xml_set_uint(xmlNode *n, const char *attr, unsigned long long value);
void bw_xml_set_bool(xmlNode *n, const char *attr, bool value);
/* Root element check + version parse ("1.16-windows" → 16). Fills @version (owned). */
bool bw_xml_check_root(xmlDoc *doc, const char *path, char **version, unsigned *minor,
                       GError **error);
/* Parses a settings version string; false when it is not "1.<n>[-suffix]". */
bool bw_settings_parse_version(const char *v, unsigned *minor);
/* Resolves @location against @folder; NULL for Windows-style paths (C:\, E:/, \\server). */
char *bw_settings_resolve_path(const char *folder, const char *location, bool *foreign);
/* "{8-4-4-4-12}" (braces optional) → lower case, braces as written; false if not a UUID. */
bool bw_uuid_normalise(const char *in, char **out);
/* UUIDs equal ignoring case and braces. */
bool bw_uuid_equal(const char *a, const char *b);
