#include "gh_geoip.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#ifdef GH_HAVE_MAXMINDDB
#include <maxminddb.h>

/* Set once at start (gh_geoip_open), read-only afterwards. */
static MMDB_s country_db, asn_db;
static bool have_country, have_asn;

static int open_one(const char *path, MMDB_s *db, bool *have, char *err, size_t errlen)
{
    if (!path[0])
        return 0;
    int rc = MMDB_open(path, MMDB_MODE_MMAP, db);
    if (rc != MMDB_SUCCESS) {
        snprintf(err, errlen, "%s: %s", path, MMDB_strerror(rc));
        return -1;
    }
    *have = true;
    return 0;
}

int gh_geoip_open(const gh_config *cfg, char *err, size_t errlen)
{
    gh_geoip_close();
    if (open_one(cfg->geoip_db, &country_db, &have_country, err, errlen) != 0)
        return -1;
    if (open_one(cfg->asn_db, &asn_db, &have_asn, err, errlen) != 0) {
        gh_geoip_close();
        return -1;
    }
    return 0;
}

void gh_geoip_close(void)
{
    if (have_country)
        MMDB_close(&country_db);
    if (have_asn)
        MMDB_close(&asn_db);
    have_country = have_asn = false;
}

bool gh_geoip_enabled(void)
{
    return have_country || have_asn;
}

static bool find(MMDB_s *db, const char *ip, MMDB_lookup_result_s *res)
{
    int gai = 0, mmdb = 0;
    *res = MMDB_lookup_string(db, ip, &gai, &mmdb);
    return gai == 0 && mmdb == MMDB_SUCCESS && res->found_entry;
}

static void country_of(MMDB_lookup_result_s *res, gh_geo *out)
{
    MMDB_entry_data_s d;
    if (MMDB_get_value(&res->entry, &d, "country", "iso_code", NULL) == MMDB_SUCCESS &&
        d.has_data && d.type == MMDB_DATA_TYPE_UTF8_STRING && d.data_size == 2) {
        memcpy(out->country, d.utf8_string, 2);
        out->country[2] = '\0';
    }
    MMDB_entry_data_s lat, lon;
    if (MMDB_get_value(&res->entry, &lat, "location", "latitude", NULL) == MMDB_SUCCESS &&
        MMDB_get_value(&res->entry, &lon, "location", "longitude", NULL) == MMDB_SUCCESS &&
        lat.has_data && lon.has_data && lat.type == MMDB_DATA_TYPE_DOUBLE &&
        lon.type == MMDB_DATA_TYPE_DOUBLE) {
        out->lat = lat.double_value;
        out->lon = lon.double_value;
        out->has_location = true;
    }
}

static void asn_of(MMDB_lookup_result_s *res, gh_geo *out)
{
    MMDB_entry_data_s d;
    if (MMDB_get_value(&res->entry, &d, "autonomous_system_number", NULL) == MMDB_SUCCESS &&
        d.has_data && d.type == MMDB_DATA_TYPE_UINT32)
        out->asn = d.uint32;
}

void gh_geoip_lookup(const char *ip, gh_geo *out)
{
    MMDB_lookup_result_s res;
    memset(out, 0, sizeof(*out));
    if (!ip || !*ip)
        return;
    if (have_country && find(&country_db, ip, &res))
        country_of(&res, out);
    if (have_asn && find(&asn_db, ip, &res))
        asn_of(&res, out);
}

#else /* built without libmaxminddb */

int gh_geoip_open(const gh_config *cfg, char *err, size_t errlen)
{
    if (cfg->geoip_db[0] || cfg->asn_db[0]) {
        snprintf(err, errlen,
                 "GATEHOUSE_GEOIP_DB and GATEHOUSE_ASN_DB need a build with "
                 "libmaxminddb (scripts/install-deps.sh)");
        return -1;
    }
    return 0;
}

void gh_geoip_close(void)
{
}

bool gh_geoip_enabled(void)
{
    return false;
}

void gh_geoip_lookup(const char *ip, gh_geo *out)
{
    (void)ip;
    memset(out, 0, sizeof(*out));
}

#endif

double gh_geoip_distance_km(double lat1, double lon1, double lat2, double lon2)
{
    /* haversine on a sphere of the Earth's mean radius: within 0.5 % of
     * the ellipsoid, far inside what a city-level position is worth */
    const double r = 6371.0088, rad = M_PI / 180.0;
    double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    double a = sin(dlat / 2) * sin(dlat / 2) +
               cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
    return 2 * r * atan2(sqrt(a), sqrt(1 - a));
}
