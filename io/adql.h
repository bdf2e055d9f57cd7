/*
 * adql.h - the one place where user text becomes ADQL. Names and values
 * reach a query only through asw_adql_quote / asw_adql_like, so a target
 * named  J1924-2914' OR '1'='1  is a string literal that selects nothing.
 */
#ifndef ASW_ADQL_H
#define ASW_ADQL_H

#include "src/buf.h"
#include "src/config.h"
#include "src/err.h"

/*
 * Append s to out as an ADQL string literal: in single quotes, with every
 * quote doubled. Control characters (which no archive value contains) are
 * rejected with ASW_EINVAL.
 */
int asw_adql_quote(struct asw_buf *out, const char *s);

/*
 * Append "col = 'value'" or, when value holds the wildcards * or ?, "col
 * LIKE 'pattern'" with * -> %, ? -> _ and literal %, _ and \ escaped with a
 * backslash (astroquery's convention, section 2.3 of the protocol notes).
 */
int asw_adql_match(struct asw_buf *out, const char *col, const char *value);

/*
 * Build the ObsCore query for the selection of cfg: calibrator rows
 * (science_observation = 'F'), targets, bands, cycles, projects, 12-m only
 * unless include_7m, public data unless public_only is off. The result is
 * appended to *out. Returns 0 or an error code with err set.
 */
int asw_adql_build(const struct asw_config *cfg, struct asw_buf *out,
                   struct asw_err *err);

#endif
