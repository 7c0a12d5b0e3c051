// bd_crash_cpp: a C++ NIF that kills the VM the ways C++ code does: an uncaught
// exception (std::terminate, then abort) and a fault in a method of a class in a
// namespace (mangled names), for beamdump's native-crash tests (samples/nif/gen.sh).
#include <stdexcept>
#include <string>

#include <erl_nif.h>

#define NOINLINE __attribute__((noinline))

namespace bdcrash {

static int *volatile nowhere; // NULL the compiler cannot see

class Ledger {
public:
	explicit Ledger(int *total) : total_(total) {}
	NOINLINE int post(int amount)
	{
		if (amount < 0)
			throw std::invalid_argument("ledger: negative amount " + std::to_string(amount));
		*total_ += amount; // total_ is NULL
		return *total_;
	}

private:
	int *total_;
};

} // namespace bdcrash

static ERL_NIF_TERM post(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
	int amount = 0;
	if (argc == 1)
		enif_get_int(env, argv[0], &amount);
	bdcrash::Ledger ledger(bdcrash::nowhere);
	// nothing catches the exception: the C++ runtime calls std::terminate
	return enif_make_int(env, ledger.post(amount));
}

static ErlNifFunc funcs[] = {
	{"post", 1, post, 0},
};

ERL_NIF_INIT(bd_crash_cpp, funcs, NULL, NULL, NULL, NULL)
