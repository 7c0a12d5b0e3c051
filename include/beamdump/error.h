/* beamdump error codes and the caller-owned error record. */
#ifndef BEAMDUMP_ERROR_H
#define BEAMDUMP_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/* One list generates the enum and bd_strerror(). Values are negative. */
#define BD_ERROR_LIST(X)                                                    \
	X(BD_OK, 0, "ok")                                                   \
	X(BD_ENOTFOUND, -1, "not found")                                    \
	X(BD_ETRUNCATED, -2, "input is truncated")                          \
	X(BD_ECORRUPT, -3, "input is corrupt")                              \
	X(BD_EUNSUPPORTED, -4, "unsupported input")                         \
	X(BD_ENOMEM, -5, "out of memory")                                   \
	X(BD_EIO, -6, "i/o error")                                          \
	X(BD_EBUDGET, -7, "budget exhausted")                               \
	X(BD_EUSAGE, -8, "invalid argument")

typedef enum {
#define BD_X(name, value, text) name = value,
	BD_ERROR_LIST(BD_X)
#undef BD_X
} bd_errcode;

/* Filled by any call that fails: what went wrong and where (file, offset, section).
 * Owned by the caller; never allocated. */
typedef struct bd_error {
	int code;      /* bd_errcode */
	int sys_errno; /* errno when an OS call failed, else 0 */
	char msg[256];
} bd_error;

/* Static text for a code. Async-signal-safe. */
const char *bd_strerror(int code);

/* Set err (may be NULL) and return code. printf-style message. */
int bd_error_set(bd_error *err, int code, int sys_errno, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#ifdef __cplusplus
}
#endif
#endif
