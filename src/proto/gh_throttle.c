#include "gh_throttle.h"

static long long doubling(long long failures, long long from, long long cap)
{
    if (failures < from)
        return 0;
    long long steps = failures - from;
    if (steps >= 20)
        return cap;
    long long d = 1LL << steps;
    return d < cap ? d : cap;
}

long long gh_throttle_delay(gh_throttle_kind kind, long long failures)
{
    switch (kind) {
    case GH_TH_ACCOUNT_IP:
        return doubling(failures, 5, 900);
    case GH_TH_IP:
        return doubling(failures, 20, 900);
    case GH_TH_ACCOUNT:
        return failures >= 100 ? 30 : 0;
    }
    return 0;
}

long long gh_throttle_guard(long long failures, long long limit)
{
    return failures >= limit ? 900 : 0;
}
