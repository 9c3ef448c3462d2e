/*
 * gh_geoip: where an address is, from MaxMind-format databases
 * (GATEHOUSE_GEOIP_DB: a country or city database; GATEHOUSE_ASN_DB: an
 * ASN database), for the risk engine's new_country, new_asn and
 * impossible_travel (docs/risk.md "Geolocation"). Opened once at start,
 * read-only afterwards (lookups from any thread, memory-mapped, no I/O
 * per request). Without libmaxminddb at build time, setting either file
 * stops the start.
 */
#ifndef GH_GEOIP_H
#define GH_GEOIP_H

#include <stdbool.h>
#include <stddef.h>

#include "gh_config.h"

typedef struct gh_geo {
    char country[4];   /* ISO 3166-1 alpha-2, "" when unknown */
    bool has_location; /* lat and lon are set (a city database) */
    double lat, lon;
    unsigned long asn; /* 0 when unknown */
} gh_geo;

/* Opens the configured databases; 0, or -1 with one line in err naming
 * the file. Nothing configured: 0, and lookups find nothing. */
int gh_geoip_open(const gh_config *cfg, char *err, size_t errlen);
void gh_geoip_close(void);
/* Whether a country or an ASN database is open. */
bool gh_geoip_enabled(void);
/* What the databases say of ip (text); all unknown when they say nothing. */
void gh_geoip_lookup(const char *ip, gh_geo *out);
/* The great-circle distance in km between two points (degrees). */
double gh_geoip_distance_km(double lat1, double lon1, double lat2, double lon2);

#endif
