/* memory_alarm: an alarm raised because memory crossed a watermark (placeholder,
 * filled in below). */
#include "an_int.h"

void an_alarms(an_ctx *c)
{
	(void)c;
}
