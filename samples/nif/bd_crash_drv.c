/* bd_crash_drv: a real port driver that faults in its output callback (on a
 * scheduler) or in a job it hands to the async thread pool, for beamdump's
 * native-crash tests. */
#include <string.h>

#include <erl_driver.h>

#define NOINLINE __attribute__((noinline))

static char *volatile bd_nowhere; /* NULL the compiler cannot see */

typedef struct {
	ErlDrvPort port;
} bd_drv;

NOINLINE static void bd_drv_store(char *dst, const char *buf, ErlDrvSizeT len)
{
	memcpy(dst, buf, len); /* dst is NULL */
}

static void bd_async_job(void *arg)
{
	(void)arg;
	bd_drv_store(bd_nowhere, "async", 5);
}

static ErlDrvData bd_start(ErlDrvPort port, char *cmd)
{
	(void)cmd;
	bd_drv *d = driver_alloc(sizeof *d);
	d->port = port;
	return (ErlDrvData)d;
}

static void bd_stop(ErlDrvData h) { driver_free(h); }

static void bd_output(ErlDrvData h, char *buf, ErlDrvSizeT len)
{
	bd_drv *d = (bd_drv *)h;
	if (len == 5 && !memcmp(buf, "async", 5))
		driver_async(d->port, NULL, bd_async_job, NULL, NULL);
	else
		bd_drv_store(bd_nowhere, buf, len);
}

static ErlDrvEntry bd_entry = {
	.driver_name = "bd_crash_drv",
	.start = bd_start,
	.stop = bd_stop,
	.output = bd_output,
	.extended_marker = ERL_DRV_EXTENDED_MARKER,
	.major_version = ERL_DRV_EXTENDED_MAJOR_VERSION,
	.minor_version = ERL_DRV_EXTENDED_MINOR_VERSION,
};

DRIVER_INIT(bd_crash_drv) { return &bd_entry; }
