/*
 * gen_obscore.c - the ivoa.obscore view of a plan: one row per (member OUS,
 * source field, spectral window), columns and units as in
 * shared/reference/alma-archive-protocols.md section 2.1.
 */
#include "gen_db.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gen_image.h"

#define C_M_S          299792458.0
#define ARCSEC_PER_RAD 206264.80624709636
#define DEG_PER_RAD    57.29577951308232

/* Declared SQLite types decide the VOTable datatype the simulator
 * announces (TEXT char, REAL double, INTEGER long). */
static const struct col {
    const char *name;
    const char *type;
} cols[] = {
    {"obs_publisher_did", "TEXT"},
    {"obs_collection", "TEXT"},
    {"facility_name", "TEXT"},
    {"instrument_name", "TEXT"},
    {"obs_id", "TEXT"},
    {"dataproduct_type", "TEXT"},
    {"calib_level", "INTEGER"},
    {"access_url", "TEXT"},
    {"access_format", "TEXT"},
    {"access_estsize", "INTEGER"},
    {"target_name", "TEXT"},
    {"s_ra", "REAL"},
    {"s_dec", "REAL"},
    {"s_fov", "REAL"},
    {"s_region", "TEXT"},
    {"s_resolution", "REAL"},
    {"s_xel1", "INTEGER"},
    {"s_xel2", "INTEGER"},
    {"t_min", "REAL"},
    {"t_max", "REAL"},
    {"t_exptime", "REAL"},
    {"t_resolution", "REAL"},
    {"t_xel", "INTEGER"},
    {"em_min", "REAL"},
    {"em_max", "REAL"},
    {"em_res_power", "REAL"},
    {"em_resolution", "REAL"},
    {"em_xel", "INTEGER"},
    {"spectral_resolution", "REAL"},
    {"o_ucd", "TEXT"},
    {"pol_states", "TEXT"},
    {"pol_xel", "INTEGER"},
    {"proposal_id", "TEXT"},
    {"data_rights", "TEXT"},
    {"obs_release_date", "TEXT"},
    {"gal_longitude", "REAL"},
    {"gal_latitude", "REAL"},
    {"band_list", "TEXT"},
    {"bandwidth", "REAL"},
    {"frequency", "REAL"},
    {"frequency_support", "TEXT"},
    {"velocity_resolution", "REAL"},
    {"antenna_arrays", "TEXT"},
    {"is_mosaic", "TEXT"},
    {"qa2_passed", "TEXT"},
    {"spatial_resolution", "REAL"},
    {"spatial_scale_max", "REAL"},
    {"sensitivity_10kms", "REAL"},
    {"cont_sensitivity_bandwidth", "REAL"},
    {"pwv", "REAL"},
    {"group_ous_uid", "TEXT"},
    {"member_ous_uid", "TEXT"},
    {"asdm_uid", "TEXT"},
    {"schedblock_name", "TEXT"},
    {"obs_title", "TEXT"},
    {"proposal_abstract", "TEXT"},
    {"proposal_authors", "TEXT"},
    {"type", "TEXT"},
    {"scan_intent", "TEXT"},
    {"science_observation", "TEXT"},
    {"obs_creator_name", "TEXT"},
    {"pi_name", "TEXT"},
    {"pi_userid", "TEXT"},
    {"science_keyword", "TEXT"},
    {"scientific_category", "TEXT"},
    {"collections", "TEXT"},
    {"lastModified", "TEXT"},
};
#define N_COLS (int)(sizeof cols / sizeof cols[0])

int asw_gen_db_obscore_create(sqlite3 *db, struct asw_err *err)
{
    char sql[4096];
    size_t len = (size_t)snprintf(sql, sizeof sql, "CREATE TABLE obscore(");
    for (int i = 0; i < N_COLS && len < sizeof sql; i++)
        len += (size_t)snprintf(sql + len, sizeof sql - len, "%s%s %s",
                                i ? ", " : "", cols[i].name, cols[i].type);
    if (len + 2 >= sizeof sql)
        return asw_err_set(err, ASW_EINVAL, "gen", "obscore schema too long");
    strcat(sql, ")");
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return asw_err_set(err, ASW_EIO, "sqlite", "obscore: %s",
                           sqlite3_errmsg(db));
    return 0;
}

/* Bind by column name; a column left unbound is NULL. */
static void set_s(sqlite3_stmt *st, const char *col, const char *v)
{
    char key[64];
    snprintf(key, sizeof key, ":%s", col);
    int i = sqlite3_bind_parameter_index(st, key);
    if (i > 0)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

static void set_d(sqlite3_stmt *st, const char *col, double v)
{
    char key[64];
    snprintf(key, sizeof key, ":%s", col);
    int i = sqlite3_bind_parameter_index(st, key);
    if (i > 0)
        sqlite3_bind_double(st, i, v);
}

static void set_i(sqlite3_stmt *st, const char *col, long long v)
{
    char key[64];
    snprintf(key, sizeof key, ":%s", col);
    int i = sqlite3_bind_parameter_index(st, key);
    if (i > 0)
        sqlite3_bind_int64(st, i, v);
}

/* ICRS (deg) to Galactic (deg), IAU 1958 rotation in the ICRS frame. */
static void icrs_to_gal(double ra, double dec, double *l, double *b)
{
    static const double R[3][3] = {
        {-0.0548755604162154, -0.8734370902348850, -0.4838350155487132},
        {0.4941094278755837, -0.4448296299600112, 0.7469822444972189},
        {-0.8676661490190047, -0.1980763734312015, 0.4559837761750669}};
    double a = ra / DEG_PER_RAD, d = dec / DEG_PER_RAD;
    double v[3] = {cos(d) * cos(a), cos(d) * sin(a), sin(d)}, g[3];
    for (int i = 0; i < 3; i++)
        g[i] = R[i][0] * v[0] + R[i][1] * v[1] + R[i][2] * v[2];
    *l = fmod(atan2(g[1], g[0]) * DEG_PER_RAD + 360.0, 360.0);
    *b = asin(fmax(-1.0, fmin(1.0, g[2]))) * DEG_PER_RAD;
}

/* Noise of the science target's continuum image: the MOUS sensitivity. */
static double mous_cont_rms(const struct asw_gen_plan *p, int mous)
{
    const struct asw_gen_mous *m = &p->mous[mous];
    for (int i = m->first_image; i < m->first_image + m->n_images; i++)
        if (p->image[i].spw < 0)
            return p->image[i].rms_jy;
    return 1e-4;
}

static int insert_row(sqlite3_stmt *st, const struct asw_gen_plan *p, int mi,
                      int fi, int si)
{
    const struct asw_gen_mous *m = &p->mous[mi];
    const struct asw_gen_field *f = &m->field[fi];
    const struct asw_gen_spw *s = &m->spw[si];
    char buf[512];
    double chan_hz = s->nchan > 128 ? 976562.5 : 15625000.0;
    double fov_deg = 1.13 * (C_M_S / s->freq_hz) / m->dish_m * DEG_PER_RAD;
    double res = sqrt(m->bmaj_ref_arcsec * m->bmin_ref_arcsec) *
                 m->spw[0].freq_hz / s->freq_hz;
    double rms_cont = mous_cont_rms(p, mi);
    double dv_hz = s->freq_hz * 1e4 / C_M_S; /* 10 km/s in Hz */
    double rms_10kms = rms_cont * sqrt(m->n_spw * s->bw_hz / dv_hz);
    double rms_native = rms_cont * sqrt(m->n_spw * s->bw_hz / chan_hz);
    double l, b;

    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    snprintf(buf, sizeof buf, "ADS/JAO.ALMA#%s", m->project);
    set_s(st, "obs_publisher_did", buf);
    set_s(st, "obs_collection", "ALMA");
    set_s(st, "facility_name", "JAO");
    set_s(st, "instrument_name", "ALMA");
    snprintf(buf, sizeof buf, "%s.source.%s.spw.%d", m->mous_uid, f->name,
             s->id);
    set_s(st, "obs_id", buf);
    set_s(st, "dataproduct_type", s->nchan > 128 ? "cube" : "image");
    set_i(st, "calib_level", 2);
    snprintf(buf, sizeof buf, "https://almascience.org/datalink/sync?ID=%s",
             m->mous_uid);
    set_s(st, "access_url", buf);
    set_s(st, "access_format", "application/x-votable+xml;content=datalink");
    set_s(st, "target_name", f->name);
    set_d(st, "s_ra", f->ra_deg);
    set_d(st, "s_dec", f->dec_deg);
    set_d(st, "s_fov", fov_deg);
    snprintf(buf, sizeof buf, "Circle ICRS %.6f %.6f %.6f", f->ra_deg,
             f->dec_deg, fov_deg / 2);
    set_s(st, "s_region", buf);
    set_d(st, "s_resolution", res);
    set_d(st, "t_min", m->eb[0].mjd_start);
    set_d(st, "t_max", m->eb[m->n_eb - 1].mjd_end);
    set_d(st, "t_exptime", round(f->texp_s * 1000.0) / 1000.0);
    set_d(st, "t_resolution", m->dish_m == 7 ? 10.08 : 6.048);
    set_d(st, "em_min", C_M_S / (s->freq_hz + s->bw_hz / 2));
    set_d(st, "em_max", C_M_S / (s->freq_hz - s->bw_hz / 2));
    set_d(st, "em_res_power", s->freq_hz / chan_hz);
    set_d(st, "em_resolution", C_M_S * chan_hz / (s->freq_hz * s->freq_hz));
    set_i(st, "em_xel", s->nchan);
    set_d(st, "spectral_resolution", chan_hz / 1e3);
    set_s(st, "o_ucd", "phot.flux.density;phys.polarization");
    set_s(st, "pol_states", "/XX/YY/");
    set_i(st, "pol_xel", 2);
    set_s(st, "proposal_id", m->project);
    set_s(st, "data_rights", m->proprietary ? "Proprietary" : "Public");
    set_s(st, "obs_release_date", m->release);
    icrs_to_gal(f->ra_deg, f->dec_deg, &l, &b);
    set_d(st, "gal_longitude", l);
    set_d(st, "gal_latitude", b);
    snprintf(buf, sizeof buf, "%d", m->band);
    set_s(st, "band_list", buf);
    set_d(st, "bandwidth", s->bw_hz);
    set_d(st, "frequency", s->freq_hz / 1e9);
    snprintf(buf, sizeof buf,
             "[%.2f..%.2fGHz,%.2fkHz,%.1fmJy/beam@10km/s,%.1fuJy/beam@native,"
             " XX YY]",
             (s->freq_hz - s->bw_hz / 2) / 1e9,
             (s->freq_hz + s->bw_hz / 2) / 1e9, chan_hz / 1e3, rms_10kms * 1e3,
             rms_native * 1e6);
    set_s(st, "frequency_support", buf);
    set_d(st, "velocity_resolution", C_M_S * chan_hz / s->freq_hz);
    set_s(st, "antenna_arrays", m->antennas);
    set_s(st, "is_mosaic", "F");
    set_s(st, "qa2_passed", "T");
    set_d(st, "spatial_resolution", res);
    set_d(st, "spatial_scale_max", res * (m->dish_m == 7 ? 2.5 : 7.0));
    set_d(st, "sensitivity_10kms", rms_10kms * 1e3);
    set_d(st, "cont_sensitivity_bandwidth", rms_cont * 1e3);
    set_d(st, "pwv", m->pwv_mm);
    set_s(st, "group_ous_uid", m->group_uid);
    set_s(st, "member_ous_uid", m->mous_uid);
    set_s(st, "asdm_uid", m->eb[0].uid);
    set_s(st, "schedblock_name", m->sb_name);
    set_s(st, "obs_title", m->title);
    snprintf(buf, sizeof buf,
             "Synthetic proposal for almasweep tests: %s. Band %d, %s-m "
             "array.",
             m->title, m->band, m->dish_m == 7 ? "7" : "12");
    set_s(st, "proposal_abstract", buf);
    snprintf(buf, sizeof buf, "%s; Example, A.; Sample, B.", m->pi_name);
    set_s(st, "proposal_authors", buf);
    set_s(st, "type", "S");
    set_s(st, "scan_intent", asw_gen_intent_scan(f->intent));
    set_s(st, "science_observation", f->intent == ASW_GEN_SCI ? "T" : "F");
    set_s(st, "obs_creator_name", "ALMA");
    set_s(st, "pi_name", m->pi_name);
    set_s(st, "pi_userid", m->pi_userid);
    set_s(st, "science_keyword", m->keyword);
    set_s(st, "scientific_category", m->category);
    asw_gen_mjd_isot(floor(m->eb[m->n_eb - 1].mjd_end) + 30.0, buf, sizeof buf);
    buf[23] = '\0'; /* millisecond precision, as the archive */
    set_s(st, "lastModified", buf);
    return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
}

int asw_gen_db_obscore(sqlite3 *db, const struct asw_gen_plan *plan, int mous,
                       struct asw_err *err)
{
    char sql[4096];
    sqlite3_stmt *st = NULL;
    size_t len = (size_t)snprintf(sql, sizeof sql, "INSERT INTO obscore(");
    for (int i = 0; i < N_COLS; i++)
        len += (size_t)snprintf(sql + len, sizeof sql - len, "%s%s",
                                i ? ", " : "", cols[i].name);
    len += (size_t)snprintf(sql + len, sizeof sql - len, ") VALUES(");
    for (int i = 0; i < N_COLS; i++)
        len += (size_t)snprintf(sql + len, sizeof sql - len, "%s:%s",
                                i ? ", " : "", cols[i].name);
    if (len + 2 >= sizeof sql)
        return asw_err_set(err, ASW_EINVAL, "gen", "obscore insert too long");
    strcat(sql, ")");
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return asw_err_set(err, ASW_EIO, "sqlite", "obscore: %s",
                           sqlite3_errmsg(db));

    const struct asw_gen_mous *m = &plan->mous[mous];
    int rows = 0, rc = 0;
    for (int fi = 0; fi < m->n_field && !rc; fi++) {
        for (int si = 0; si < m->n_spw && !rc; si++) {
            if (insert_row(st, plan, mous, fi, si))
                rc = asw_err_set(err, ASW_EIO, "sqlite", "obscore: %s",
                                 sqlite3_errmsg(db));
            else
                rows++;
        }
    }
    sqlite3_finalize(st);
    return rc ? rc : rows;
}
