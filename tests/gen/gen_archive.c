#include "gen_archive.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gen_db.h"
#include "gen_image.h"
#include "gen_tar.h"
#include "gen_truth.h"

#define PATH_LEN 4096
#define ROOT_MAX 1024 /* root + the longest tar path stays < PATH_LEN */
#define TEXT_MAX 65536

#define DESC_TAR     "Download dataset of type: null, and class: N/A."
#define DESC_ASDM    "Download dataset of type: , and class: N/A."
#define DESC_PRODUCT "Download dataset of type: product, and class: SCIENCE."
#define CT_TAR       "application/x-tar"
#define CT_FILE      "application/octet-stream"
#define CT_DATALINK  "application/x-votable+xml;content=datalink"

/* State of one run: where files go and what one MOUS has written. */
struct run {
    const struct asw_gen_plan *plan;
    const char *root;
    char portal[PATH_LEN];
    sqlite3 *db;
    struct asw_gen_stats st;
    float *pbcor; /* npix*npix scratch planes */
    float *pb;
    char (*names)[ASW_GEN_FILE_MAX]; /* files of the current MOUS */
    int n_names;
    int cap_names;
};

/* snprintf for paths. The root is at most ROOT_MAX and every name is
 * shorter than ASW_GEN_FILE_MAX, so truncation is a bug, not an input
 * error. */
static void pathf(char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void pathf(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= n) {
        fprintf(stderr, "asw-gen: path too long: %s\n", buf);
        abort();
    }
}

/* mkdir -p */
static int make_dir(const char *path, struct asw_err *err)
{
    char p[PATH_LEN];
    pathf(p, sizeof p, "%s", path);
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0755) && errno != EEXIST)
            return asw_err_set(err, ASW_EIO, "gen", "mkdir %s: %s", p,
                               strerror(errno));
        *s = c;
        if (!c)
            break;
    }
    return 0;
}

/* Remove the regular files a previous run left in dataPortal. */
static int clean_portal(const char *portal, struct asw_err *err)
{
    DIR *d = opendir(portal);
    struct dirent *de;
    if (!d)
        return asw_err_set(err, ASW_EIO, "gen", "opendir %s: %s", portal,
                           strerror(errno));
    while ((de = readdir(d))) {
        char p[PATH_LEN];
        struct stat sb;
        pathf(p, sizeof p, "%s/%s", portal, de->d_name);
        if (!lstat(p, &sb) && S_ISREG(sb.st_mode))
            remove(p);
    }
    closedir(d);
    return 0;
}

static void portal_path(const struct run *r, const char *name, char *buf,
                        size_t n)
{
    pathf(buf, n, "%s/%s", r->portal, name);
}

/* Account for a file just written to dataPortal; returns its size or a
 * negative code. */
static long long note_file(struct run *r, const char *name, struct asw_err *err)
{
    char p[PATH_LEN];
    struct stat sb;
    portal_path(r, name, p, sizeof p);
    if (stat(p, &sb))
        return asw_err_set(err, ASW_EIO, "gen", "stat %s: %s", p,
                           strerror(errno));
    if (r->n_names == r->cap_names) {
        int cap = r->cap_names ? 2 * r->cap_names : 64;
        void *nn = realloc(r->names, sizeof *r->names * (size_t)cap);
        if (!nn)
            return asw_err_set(err, ASW_ENOMEM, "gen", "out of memory");
        r->names = nn;
        r->cap_names = cap;
    }
    snprintf(r->names[r->n_names++], ASW_GEN_FILE_MAX, "%s", name);
    r->st.n_files++;
    r->st.total_bytes += sb.st_size;
    return (long long)sb.st_size;
}

static int write_text(struct run *r, const char *name, const char *text,
                      struct asw_err *err)
{
    char p[PATH_LEN];
    portal_path(r, name, p, sizeof p);
    FILE *fp = fopen(p, "wb");
    size_t len = strlen(text);
    if (!fp)
        return asw_err_set(err, ASW_EIO, "gen", "cannot write %s", p);
    size_t w = fwrite(text, 1, len, fp);
    if (fclose(fp) || w != len)
        return asw_err_set(err, ASW_EIO, "gen", "cannot write %s", p);
    return 0;
}

/* "<project>/science_goal.<sg>/group.<g>/member.<m>/" inside the tars. */
static void member_dir(const struct asw_gen_mous *m, char *buf, size_t n)
{
    char sg[ASW_GEN_UID_MAX], g[ASW_GEN_UID_MAX];
    asw_gen_sanitize(sg, sizeof sg, m->sg_uid);
    asw_gen_sanitize(g, sizeof g, m->group_uid);
    snprintf(buf, n, "%s/science_goal.%s/group.%s/member.%s", m->project, sg, g,
             m->mous_s);
}

static double written_mjd(const struct asw_gen_mous *m)
{
    /* the pipeline ran a few days after the last EB */
    return m->eb[m->n_eb - 1].mjd_end + 5.3;
}

static long unix_time(double mjd)
{
    return (long)((mjd - 40587.0) * 86400.0);
}

static const char *link_auth(const struct asw_gen_mous *m)
{
    return m->proprietary ? "true" : "false";
}

/* A downloadable row of the MOUS-level or nested listing. */
static int dl_file(struct run *r, const struct asw_gen_mous *m,
                   const char *query_id, const char *id, const char *name,
                   const char *semantics, const char *desc, const char *ct,
                   long long size, struct asw_err *err)
{
    struct asw_gen_dl_row row = {.query_id = query_id,
                                 .id = id,
                                 .access_name = name,
                                 .semantics = semantics,
                                 .description = desc,
                                 .content_type = ct,
                                 .content_length = size,
                                 .link_auth = link_auth(m),
                                 .readable = !m->proprietary};
    r->st.n_datalink_rows++;
    return asw_gen_db_datalink(r->db, &row, err);
}

/* The service row that points at the nested DataLink of a tar. */
static int dl_service(struct run *r, const struct asw_gen_mous *m,
                      const char *tar, const char *semantics,
                      struct asw_err *err)
{
    char sd[ASW_GEN_FILE_MAX + 16];
    snprintf(sd, sizeof sd, "DataLink.%s", tar);
    struct asw_gen_dl_row row = {.query_id = m->mous_s,
                                 .id = m->mous_uid,
                                 .service_def = sd,
                                 .semantics = semantics,
                                 .content_type = CT_DATALINK,
                                 .content_length = -1,
                                 .readable = -1};
    r->st.n_datalink_rows++;
    return asw_gen_db_datalink(r->db, &row, err);
}

/* A SODA cutout row following the #this row of a .pbcor.fits. */
static int dl_cutout(struct run *r, const char *tar, struct asw_err *err)
{
    char desc[ASW_GEN_FILE_MAX + 64];
    snprintf(desc, sizeof desc, "Synchronous SODA sub-image of %s.", tar);
    struct asw_gen_dl_row row = {.query_id = tar,
                                 .id = tar,
                                 .service_def = "SODA.sync",
                                 .semantics = "#cutout",
                                 .description = desc,
                                 .content_type = "image/fits",
                                 .content_length = -1,
                                 .readable = -1};
    r->st.n_datalink_rows++;
    return asw_gen_db_datalink(r->db, &row, err);
}

static int write_images(struct run *r, int mi, struct asw_err *err)
{
    const struct asw_gen_plan *p = r->plan;
    const struct asw_gen_mous *m = &p->mous[mi];
    char path[PATH_LEN];
    int rc = 0;
    for (int i = m->first_image; i < m->first_image + m->n_images; i++) {
        const struct asw_gen_image *im = &p->image[i];
        const struct asw_gen_field *f = &m->field[im->field];
        struct asw_gen_fits_meta meta = {.object = f->name,
                                         .bunit = "Jy/beam",
                                         .observer = m->pi_userid,
                                         .ra_deg = f->ra_deg,
                                         .dec_deg = f->dec_deg,
                                         .freq_hz = im->freq_hz,
                                         .bw_hz = im->bw_hz,
                                         .bmaj_arcsec = im->bmaj_arcsec,
                                         .bmin_arcsec = im->bmin_arcsec,
                                         .bpa_deg = im->bpa_deg,
                                         .cell_arcsec = im->cell_arcsec,
                                         .npix = im->npix,
                                         .mjd_obs = asw_gen_plan_mjd(p, mi),
                                         .mjd_written = written_mjd(m)};
        if ((rc = asw_gen_image_render(im, r->pbcor, r->pb, err)))
            return rc;
        portal_path(r, im->file, path, sizeof path);
        if ((rc = asw_gen_fits_write(path, &meta, r->pbcor, err)))
            return rc;
        meta.bunit = "";
        portal_path(r, im->pb_file, path, sizeof path);
        if ((rc = asw_gen_fits_write(path, &meta, r->pb, err)))
            return rc;
        if (im->spw >= 0)
            r->st.n_cal_images++;
        else
            r->st.n_sci_images++;
    }
    return 0;
}

static int write_readme(struct run *r, const struct asw_gen_mous *m,
                        struct asw_err *err)
{
    char name[ASW_GEN_FILE_MAX], text[4096];
    asw_gen_name_readme(m, name, sizeof name);
    snprintf(text, sizeof text,
             "ALMA Data Delivery README\n"
             "=========================\n\n"
             "Project code:       %s\n"
             "Title:              %s\n"
             "PI:                 %s\n"
             "Science goal OUS:   %s\n"
             "Group OUS:          %s\n"
             "Member OUS:         %s\n"
             "Band:               %d\n"
             "Array:              %s\n\n"
             "Directory structure:\n"
             "  product/      pipeline images: calibrators (*_bp, *_ph,\n"
             "                *_ch) per spw, science target (*_sci)\n"
             "  calibration/  flux.csv\n"
             "  script/       scriptForPI.py\n"
             "  raw/          ASDMs (one tar per execution block)\n\n"
             "Synthetic data written by asw-gen for the almasweep tests\n"
             "(preset %s, seed %lu). Not real ALMA data.\n",
             m->project, m->title, m->pi_name, m->sg_uid, m->group_uid,
             m->mous_uid, m->band, m->dish_m == 7 ? "7-m (ACA)" : "12-m",
             r->plan->preset, r->plan->seed);
    int rc = write_text(r, name, text, err);
    if (rc)
        return rc;
    long long size = note_file(r, name, err);
    if (size < 0)
        return (int)size;
    char desc[ASW_GEN_UID_MAX + 64];
    snprintf(desc, sizeof desc, "Download documentation for ./%s|README.",
             m->mous_uid);
    return dl_file(r, m, m->mous_s, m->mous_uid, name, "#documentation", desc,
                   "text/plain", size, err);
}

static int write_products(struct run *r, int mi, struct asw_err *err)
{
    const struct asw_gen_mous *m = &r->plan->mous[mi];
    const struct asw_gen_image *img = &r->plan->image[m->first_image];
    char tar[ASW_GEN_FILE_MAX], dir[PATH_LEN], entry[PATH_LEN], src[PATH_LEN];
    struct asw_gen_tar *t = NULL;
    int rc;

    if ((rc = write_images(r, mi, err)))
        return rc;
    asw_gen_name_product_tar(m, tar, sizeof tar);
    member_dir(m, dir, sizeof dir);
    portal_path(r, tar, src, sizeof src);
    if ((rc = asw_gen_tar_open(&t, src, unix_time(written_mjd(m)), err)))
        return rc;
    for (int i = 0; i < m->n_images && !rc; i++) {
        const char *files[2] = {img[i].file, img[i].pb_file};
        for (int k = 0; k < 2 && !rc; k++) {
            pathf(entry, sizeof entry, "%s/product/%s", dir, files[k]);
            portal_path(r, files[k], src, sizeof src);
            rc = asw_gen_tar_add_file(t, entry, src, err);
        }
    }
    int crc = asw_gen_tar_close(t, err);
    if (rc || crc)
        return rc ? rc : crc;

    long long size = note_file(r, tar, err);
    if (size < 0)
        return (int)size;
    if ((rc = dl_file(r, m, m->mous_s, m->mous_uid, tar, "#this", DESC_TAR,
                      CT_TAR, size, err)) ||
        (rc = dl_service(r, m, tar, "#this", err)))
        return rc;

    /* Nested listing: each product by name, pbcor images with a cutout. */
    for (int i = 0; i < m->n_images; i++) {
        const char *files[2] = {img[i].file, img[i].pb_file};
        for (int k = 0; k < 2; k++) {
            long long fsize = note_file(r, files[k], err);
            if (fsize < 0)
                return (int)fsize;
            if ((rc = dl_file(r, m, tar, tar, files[k], "#this", DESC_PRODUCT,
                              CT_FILE, fsize, err)))
                return rc;
            if (k == 0 && (rc = dl_cutout(r, tar, err)))
                return rc;
        }
    }
    return 0;
}

/* flux.csv as the pipeline writes it: one row per EB (ms), calibrator
 * field and spw, holding the true flux of that field and spw. */
static int flux_csv_text(const struct run *r, const struct asw_gen_mous *m,
                         char *buf, size_t n)
{
    const struct asw_gen_plan *p = r->plan;
    size_t len = (size_t)snprintf(buf, n,
                                  "ms,field,spw,I,Q,U,V,spix,uvmin,"
                                  "uvmax,comment\n");
    for (int e = 0; e < m->n_eb; e++) {
        char ms[ASW_GEN_UID_MAX], when[40];
        asw_gen_sanitize(ms, sizeof ms, m->eb[e].uid);
        asw_gen_mjd_isot(m->eb[e].mjd_start - 0.02, when, sizeof when);
        when[10] = ' ';
        when[19] = '\0';
        for (int i = m->first_image; i < m->first_image + m->n_images; i++) {
            const struct asw_gen_image *im = &p->image[i];
            if (im->spw < 0)
                continue;
            const struct asw_gen_field *f = &m->field[im->field];
            char intents[64];
            snprintf(intents, sizeof intents, "%s",
                     asw_gen_intent_scan(f->intent));
            for (char *c = intents; *c; c++)
                if (*c == ' ')
                    *c = ',';
            len += (size_t)snprintf(
                buf + len, len < n ? n - len : 0,
                "%s.ms,%d,%d,%.5f,0.0,0.0,0.0,%.3f,0.0,0.0,\"# field=%s "
                "intents=%s origin=DB age=%.1f queried_at=%s UTC\"\n",
                ms, im->field, m->spw[im->spw].id, im->flux_jy, f->spix,
                f->name, intents, 1.0 + im->field, when);
        }
    }
    return len < n ? 0 : ASW_ETOOBIG;
}

static int write_aux(struct run *r, int mi, struct asw_err *err)
{
    const struct asw_gen_mous *m = &r->plan->mous[mi];
    char tar[ASW_GEN_FILE_MAX], csv[ASW_GEN_FILE_MAX], py[ASW_GEN_FILE_MAX];
    char dir[PATH_LEN], entry[PATH_LEN], src[PATH_LEN], script[1024];
    char *text = malloc(TEXT_MAX);
    struct asw_gen_tar *t = NULL;
    int rc = 0;

    if (!text)
        return asw_err_set(err, ASW_ENOMEM, "gen", "out of memory");
    asw_gen_name_aux_tar(m, tar, sizeof tar);
    asw_gen_name_flux_csv(m, csv, sizeof csv);
    asw_gen_name_script(m, py, sizeof py);
    member_dir(m, dir, sizeof dir);
    snprintf(script, sizeof script,
             "# scriptForPI.py placeholder written by asw-gen\n"
             "# Project %s, member OUS %s\n"
             "print('synthetic archive: nothing to restore')\n",
             m->project, m->mous_uid);
    if (flux_csv_text(r, m, text, TEXT_MAX)) {
        rc = asw_err_set(err, ASW_ETOOBIG, "gen", "flux.csv too long");
        goto out;
    }
    if ((rc = write_text(r, csv, text, err)) ||
        (rc = write_text(r, py, script, err)))
        goto out;

    portal_path(r, tar, src, sizeof src);
    if ((rc = asw_gen_tar_open(&t, src, unix_time(written_mjd(m)), err)))
        goto out;
    pathf(entry, sizeof entry, "%s/calibration/%s", dir, csv);
    rc = asw_gen_tar_add_mem(t, entry, text, strlen(text), err);
    pathf(entry, sizeof entry, "%s/script/%s", dir, py);
    if (!rc)
        rc = asw_gen_tar_add_mem(t, entry, script, strlen(script), err);
    int crc = asw_gen_tar_close(t, err);
    if (rc || (rc = crc))
        goto out;

    long long size = note_file(r, tar, err);
    if (size < 0) {
        rc = (int)size;
        goto out;
    }
    if ((rc = dl_file(r, m, m->mous_s, m->mous_uid, tar, "#auxiliary", DESC_TAR,
                      CT_TAR, size, err)) ||
        (rc = dl_service(r, m, tar, "#auxiliary", err)))
        goto out;
    const char *files[2] = {csv, py};
    const char *desc[2] = {
        "Download dataset of type: auxiliary, and class: CALIBRATION.",
        "Download dataset of type: auxiliary, and class: SCRIPT."};
    for (int k = 0; k < 2 && !rc; k++) {
        long long fsize = note_file(r, files[k], err);
        if (fsize < 0) {
            rc = (int)fsize;
            break;
        }
        rc = dl_file(r, m, tar, tar, files[k], "#auxiliary", desc[k], CT_FILE,
                     fsize, err);
    }
out:
    free(text);
    return rc;
}

/* A raw tar of a few KB with the ASDM's top-level tables as placeholders. */
static int write_asdm(struct run *r, int mi, int e, struct asw_err *err)
{
    const struct asw_gen_mous *m = &r->plan->mous[mi];
    const struct asw_gen_eb *eb = &m->eb[e];
    char tar[ASW_GEN_FILE_MAX], dir[PATH_LEN], entry[PATH_LEN], src[PATH_LEN],
        ebs[ASW_GEN_UID_MAX], t0[40], t1[40];
    char asdm[4096], main_xml[2048];
    struct asw_gen_tar *t = NULL;
    int rc;

    asw_gen_name_asdm_tar(m, e, tar, sizeof tar);
    asw_gen_sanitize(ebs, sizeof ebs, eb->uid);
    member_dir(m, dir, sizeof dir);
    asw_gen_mjd_isot(eb->mjd_start, t0, sizeof t0);
    asw_gen_mjd_isot(eb->mjd_end, t1, sizeof t1);
    size_t len = (size_t)snprintf(
        asdm, sizeof asdm,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<!-- Placeholder written by asw-gen: not a real ASDM. -->\n"
        "<ASDM xmlns=\"http://Alma/XASDM/ASDM\" schemaVersion=\"4\">\n"
        "  <Entity entityId=\"%s\" entityTypeName=\"ASDM\"/>\n"
        "  <TimeOfCreation>%s</TimeOfCreation>\n",
        eb->uid, t1);
    static const char *tables[] = {"Antenna",
                                   "CalDevice",
                                   "ConfigDescription",
                                   "DataDescription",
                                   "ExecBlock",
                                   "Field",
                                   "Main",
                                   "Polarization",
                                   "Scan",
                                   "Source",
                                   "SpectralWindow",
                                   "State"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        len += (size_t)snprintf(asdm + len, sizeof asdm - len,
                                "  <Table><Name>%s</Name><NumberRows>%d"
                                "</NumberRows></Table>\n",
                                tables[i], 1 + (int)(i * 7 % 13));
    snprintf(asdm + len, sizeof asdm - len, "</ASDM>\n");
    snprintf(main_xml, sizeof main_xml,
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<!-- Placeholder written by asw-gen: not a real ASDM. -->\n"
             "<MainTable>\n"
             "  <ExecBlock uid=\"%s\" start=\"%s\" end=\"%s\"/>\n"
             "  <Project>%s</Project><MemberOUS>%s</MemberOUS>\n"
             "</MainTable>\n",
             eb->uid, t0, t1, m->project, m->mous_uid);

    portal_path(r, tar, src, sizeof src);
    if ((rc = asw_gen_tar_open(&t, src, unix_time(eb->mjd_end), err)))
        return rc;
    pathf(entry, sizeof entry, "%s/raw/%s.asdm.sdm/ASDM.xml", dir, ebs);
    rc = asw_gen_tar_add_mem(t, entry, asdm, strlen(asdm), err);
    pathf(entry, sizeof entry, "%s/raw/%s.asdm.sdm/Main.xml", dir, ebs);
    if (!rc)
        rc = asw_gen_tar_add_mem(t, entry, main_xml, strlen(main_xml), err);
    int crc = asw_gen_tar_close(t, err);
    if (rc || crc)
        return rc ? rc : crc;
    long long size = note_file(r, tar, err);
    if (size < 0)
        return (int)size;
    return dl_file(r, m, m->mous_s, m->mous_uid, tar, "#progenitor", DESC_ASDM,
                   CT_TAR, size, err);
}

static int write_mous(struct run *r, int mi, struct asw_err *err)
{
    const struct asw_gen_mous *m = &r->plan->mous[mi];
    int rc;
    r->n_names = 0;
    /* DataLink order follows the real service: README, products, aux,
     * raw. */
    if ((rc = write_readme(r, m, err)) || (rc = write_products(r, mi, err)) ||
        (rc = write_aux(r, mi, err)))
        return rc;
    for (int e = 0; e < m->n_eb; e++)
        if ((rc = write_asdm(r, mi, e, err)))
            return rc;
    int rows = asw_gen_db_obscore(r->db, r->plan, mi, err);
    if (rows < 0)
        return rows;
    r->st.n_obscore_rows += rows;
    if (m->proprietary)
        for (int i = 0; i < r->n_names; i++)
            if ((rc =
                     asw_gen_db_access(r->db, r->names[i], "Proprietary", err)))
                return rc;
    return 0;
}

int asw_gen_archive_write(const struct asw_gen_plan *plan, const char *root,
                          struct asw_gen_stats *stats, struct asw_err *err)
{
    struct run r = {0};
    char path[PATH_LEN];
    int rc;

    r.plan = plan;
    r.root = root;
    if (strlen(root) > ROOT_MAX)
        return asw_err_set(err, ASW_EINVAL, "gen", "--out path over %d bytes",
                           ROOT_MAX);
    pathf(r.portal, sizeof r.portal, "%s/dataPortal", root);
    if ((rc = make_dir(root, err)) || (rc = make_dir(r.portal, err)) ||
        (rc = clean_portal(r.portal, err)))
        return rc;
    pathf(path, sizeof path, "%s/truth.json", root);
    remove(path);

    size_t npx = (size_t)plan->npix * (size_t)plan->npix;
    r.pbcor = malloc(sizeof *r.pbcor * npx);
    r.pb = malloc(sizeof *r.pb * npx);
    if (!r.pbcor || !r.pb) {
        rc = asw_err_set(err, ASW_ENOMEM, "gen", "out of memory");
        goto out;
    }
    pathf(path, sizeof path, "%s/archive.sqlite", root);
    if ((rc = asw_gen_db_open(&r.db, path, err)))
        goto out;
    for (int i = 0; i < plan->n_mous && !rc; i++)
        rc = write_mous(&r, i, err);
    if (!rc)
        rc = asw_gen_db_calflux(r.db, plan, err);
    int crc = asw_gen_db_close(r.db, !rc, err);
    r.db = NULL;
    if (rc || (rc = crc))
        goto out;
    pathf(path, sizeof path, "%s/truth.json", root);
    rc = asw_gen_truth_write(plan, path, err);
out:
    if (r.db)
        asw_gen_db_close(r.db, 0, NULL);
    free(r.pbcor);
    free(r.pb);
    free(r.names);
    if (!rc && stats)
        *stats = r.st;
    return rc;
}
