#include "gen_truth.h"

#include <stdio.h>

#include <jansson.h>

#include "gen_image.h"

/* Short decimal forms keep the file readable and byte-stable. */
#define TRUTH_DUMP_FLAGS (JSON_INDENT(1) | JSON_REAL_PRECISION(12))

static json_t *mous_json(const struct asw_gen_plan *p, int mi)
{
    const struct asw_gen_mous *m = &p->mous[mi];
    char name[ASW_GEN_FILE_MAX], band[8];
    json_t *o = json_object();
    json_t *prod = json_array(), *aux = json_array(), *asdm = json_array();
    json_t *ebs = json_array(), *fields = json_array();

    snprintf(band, sizeof band, "%d", m->band);
    json_object_set_new(o, "mous_uid", json_string(m->mous_uid));
    json_object_set_new(o, "project", json_string(m->project));
    json_object_set_new(o, "band", json_string(band));
    json_object_set_new(o, "data_rights",
                        json_string(m->proprietary ? "Proprietary" : "Public"));
    json_object_set_new(o, "n_images", json_integer(m->n_cal_images));
    asw_gen_name_product_tar(m, name, sizeof name);
    json_array_append_new(prod, json_string(name));
    json_object_set_new(o, "product_tars", prod);
    for (int e = 0; e < m->n_eb; e++) {
        asw_gen_name_asdm_tar(m, e, name, sizeof name);
        json_array_append_new(asdm, json_string(name));
        json_t *eb = json_object();
        json_object_set_new(eb, "asdm_uid", json_string(m->eb[e].uid));
        json_object_set_new(eb, "mjd_start", json_real(m->eb[e].mjd_start));
        json_object_set_new(eb, "mjd_end", json_real(m->eb[e].mjd_end));
        json_array_append_new(ebs, eb);
    }
    json_object_set_new(o, "asdm_tars", asdm);
    /* Beyond the contract's minimum: what the checker and tests use. */
    asw_gen_name_aux_tar(m, name, sizeof name);
    json_array_append_new(aux, json_string(name));
    json_object_set_new(o, "aux_tars", aux);
    asw_gen_name_readme(m, name, sizeof name);
    json_object_set_new(o, "readme", json_string(name));
    asw_gen_name_flux_csv(m, name, sizeof name);
    json_object_set_new(o, "flux_csv", json_string(name));
    json_object_set_new(o, "group_ous_uid", json_string(m->group_uid));
    json_object_set_new(o, "science_goal_uid", json_string(m->sg_uid));
    json_object_set_new(o, "array", json_string(m->dish_m == 7 ? "7m" : "12m"));
    json_object_set_new(o, "obs_release_date", json_string(m->release));
    json_object_set_new(o, "ebs", ebs);
    for (int f = 0; f < m->n_field; f++) {
        json_t *fo = json_object();
        json_object_set_new(fo, "name", json_string(m->field[f].name));
        json_object_set_new(
            fo, "intent", json_string(asw_gen_intent_tag(m->field[f].intent)));
        json_object_set_new(fo, "ra_deg", json_real(m->field[f].ra_deg));
        json_object_set_new(fo, "dec_deg", json_real(m->field[f].dec_deg));
        json_object_set_new(fo, "spix", json_real(m->field[f].spix));
        json_array_append_new(fields, fo);
    }
    json_object_set_new(o, "fields", fields);
    json_t *spws = json_array();
    for (int s = 0; s < m->n_spw; s++)
        json_array_append_new(spws, json_integer(m->spw[s].id));
    json_object_set_new(o, "spws", spws);
    /* The spectral setup, for selections by frequency and resolution. */
    json_t *setup = json_array();
    for (int s = 0; s < m->n_spw; s++) {
        json_t *so = json_object();
        json_object_set_new(so, "id", json_integer(m->spw[s].id));
        json_object_set_new(so, "freq_hz", json_real(m->spw[s].freq_hz));
        json_object_set_new(so, "bw_hz", json_real(m->spw[s].bw_hz));
        json_object_set_new(so, "nchan", json_integer(m->spw[s].nchan));
        json_array_append_new(setup, so);
    }
    json_object_set_new(o, "spw_setup", setup);
    json_object_set_new(o, "dish_m", json_integer(m->dish_m));
    json_object_set_new(o, "n_obscore_rows",
                        json_integer(m->n_field * m->n_spw));
    json_object_set_new(o, "n_sci_images",
                        json_integer(m->n_images - m->n_cal_images));
    return o;
}

static json_t *image_json(const struct asw_gen_plan *p, int ii)
{
    const struct asw_gen_image *im = &p->image[ii];
    const struct asw_gen_mous *m = &p->mous[im->mous];
    const struct asw_gen_field *f = &m->field[im->field];
    json_t *o = json_object();
    json_object_set_new(o, "file", json_string(im->file));
    json_object_set_new(o, "mous_uid", json_string(m->mous_uid));
    json_object_set_new(o, "source", json_string(f->name));
    json_object_set_new(o, "intent",
                        json_string(asw_gen_intent_tag(f->intent)));
    json_object_set_new(o, "spw", json_integer(m->spw[im->spw].id));
    json_object_set_new(o, "freq_hz", json_real(im->freq_hz));
    json_object_set_new(o, "peak_jy", json_real(im->flux_jy));
    json_object_set_new(o, "flux_jy", json_real(im->flux_jy));
    json_object_set_new(o, "rms_jy", json_real(im->rms_jy));
    json_object_set_new(o, "bmaj_arcsec", json_real(im->bmaj_arcsec));
    json_object_set_new(o, "bmin_arcsec", json_real(im->bmin_arcsec));
    json_object_set_new(o, "bpa_deg", json_real(im->bpa_deg));
    json_object_set_new(o, "x_pix", json_real(im->x_pix));
    json_object_set_new(o, "y_pix", json_real(im->y_pix));
    json_object_set_new(o, "mjd", json_real(asw_gen_plan_mjd(p, im->mous)));
    /* extras */
    json_object_set_new(o, "pb_file", json_string(im->pb_file));
    json_object_set_new(o, "band", json_integer(m->band));
    json_object_set_new(o, "array", json_string(m->dish_m == 7 ? "7m" : "12m"));
    json_object_set_new(o, "spix", json_real(f->spix));
    json_object_set_new(o, "cell_arcsec", json_real(im->cell_arcsec));
    json_object_set_new(o, "npix", json_integer(im->npix));
    json_object_set_new(o, "pb_fwhm_arcsec", json_real(im->pb_fwhm_arcsec));
    return o;
}

int asw_gen_truth_write(const struct asw_gen_plan *plan, const char *path,
                        struct asw_err *err)
{
    json_t *root = json_object(), *mous = json_array(), *imgs = json_array();
    if (!root || !mous || !imgs) {
        json_decref(root);
        json_decref(mous);
        json_decref(imgs);
        return asw_err_set(err, ASW_ENOMEM, "gen", "out of memory");
    }
    json_object_set_new(root, "seed", json_integer((json_int_t)plan->seed));
    json_object_set_new(root, "preset", json_string(plan->preset));
    json_object_set_new(root, "npix", json_integer(plan->npix));
    json_object_set_new(root, "pblimit", json_real(ASW_GEN_PBLIMIT));
    for (int i = 0; i < plan->n_mous; i++)
        json_array_append_new(mous, mous_json(plan, i));
    for (int i = 0; i < plan->n_image; i++)
        if (plan->image[i].spw >= 0)
            json_array_append_new(imgs, image_json(plan, i));
    json_object_set_new(root, "mous", mous);
    json_object_set_new(root, "images", imgs);
    int rc = json_dump_file(root, path, TRUTH_DUMP_FLAGS)
                 ? asw_err_set(err, ASW_EIO, "gen", "cannot write %s", path)
                 : 0;
    json_decref(root);
    return rc;
}
