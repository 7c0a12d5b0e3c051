/* The model cache (cache.c): a text dump's tables, kept between runs. Used by open.c. */
#ifndef BD_CACHE_H
#define BD_CACHE_H

#include "int.h"

/* What identifies one version of one dump file, read one way. */
typedef struct bd_cache_key {
	uint64_t dev, ino, size;
	int64_t mtime_sec, mtime_nsec;
	uint64_t reading;  /* the settings that change what is read ($BEAMDUMP_MAX_INPUT) */
	uint32_t path_len, pad;
} bd_cache_key;

/* The cache directory: override, else $XDG_CACHE_HOME/beamdump, else
 * $HOME/.cache/beamdump. -1 when there is none. */
int bd_cache_dir(char *buf, size_t cap, const char *override);
/* Key and real path (into path_out) of a regular file; -1 for anything else. */
int bd_cache_key_of(bd_cache_key *k, char *path_out, size_t cap, const char *path);
/* Bytes the cache directory may hold: $BEAMDUMP_CACHE_MAX (e.g. 500M, 4G) or 2 GiB. */
uint64_t bd_cache_max(void);

/* Fill the empty model m from the cache of (key, path). 0, or -1 when there is no
 * usable cache (absent, stale, damaged, another build's): m is then half filled and
 * must be freed. */
int bd_cache_load(bd_model *m, const char *dir, const bd_cache_key *key, const char *path);
/* 1 when the disk under dir (an existing directory) keeps its reserve after need more
 * bytes (or cannot be asked), else 0. */
int bd_cache_has_room(const char *dir, uint64_t need);
/* Write the cache of m (a text dump read from path), replacing any older one, then
 * trim the directory to max bytes (oldest first). 0 or -1 (not written: no room, no
 * directory, a write error). Safe while other threads read m. */
int bd_cache_store(const bd_model *m, const char *dir, const bd_cache_key *key,
		   const char *path, uint64_t max);

/* The memo of the same dump (bd_model_memo_*): its entries into m, when the file is
 * there, whole and for this key; else nothing. */
void bd_cache_memo_load(bd_model *m, const char *dir, const bd_cache_key *key, const char *path);
/* Write m's memo for the dump; 0 or -1. */
int bd_cache_memo_store(const bd_model *m, const char *dir, const bd_cache_key *key,
			const char *path, uint64_t max);

/* ---- for tests ---- */
/* Sections: tables of rows, and the strings they point into. */
enum {
	BD_CS_PATH = 1, BD_CS_STRINGS, BD_CS_NODE, BD_CS_MEMORY, BD_CS_LIMITS, BD_CS_MODEL,
	BD_CS_TAGS, BD_CS_TABLE_STATS, BD_CS_SCHEDS, BD_CS_PROCS, BD_CS_LINKS, BD_CS_PORTS,
	BD_CS_ETS, BD_CS_TIMERS, BD_CS_DISTS, BD_CS_MODULES, BD_CS_FUNS, BD_CS_BINARIES,
	BD_CS_ALLOC_STATS, BD_CS_AREAS, BD_CS_LOOSE, BD_CS_PIDX, BD_CS__COUNT
};
/* The string fields (offsets) of a row of section id; NULL and 0 for none. */
const uint16_t *bd_cache_string_fields(unsigned id, size_t *n);
/* The cache file of path (a dump) in dir, into buf. */
void bd_cache_file(char *buf, size_t cap, const char *dir, const char *path);
/* Where section id's rows are in a cache file: 0, or -1. */
int bd_cache_section(const char *file, unsigned id, uint64_t *off, uint64_t *count,
		     uint32_t *elem);
/* The address the cache of the dump at (real) path is mapped at when it is free. */
uint64_t bd_cache_map_base(const char *path);
/* Recompute a cache file's checksums after its bytes were changed (a crafted file). */
int bd_cache_reseal(const char *file);

#endif
