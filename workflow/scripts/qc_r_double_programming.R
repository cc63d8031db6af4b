# Independent double programming in R (rule qc_r_double_programming).
#
# Every statistic of the analysis-results dataset (ARD) recomputed from the
# specification (STUDY.md, docs/tables.md, docs/validation.md) in a second language,
# from the analysis datasets only: the ADaM Dataset-JSON v1.1 files of the
# analysis-datasets stage (results/adam/adsl.json, adrs, adtte, adae, adlb, adex, adcm,
# adpr, adcyt; docs/analysis_datasets.md), the same datasets the Python statistics
# stage reads. No Python-computed statistic and no ARD value is read here. From each
# dataset:
#   ADSL   treated patients (SAFFL), ANLGRP, DIAGGRP, EFFFL, AGE, SEX, PRIORLN,
#          EVANSFL, ACROFL, BHB, the prior-therapy flags (PRTHRFL, PR*FL), TRTSDT,
#          LSTFUDT (follow-up in days = LSTFUDT - TRTSDT);
#   ADRS   AVALC of BOR, RESP, ONGOING, RELAPSE, ACRORSP; AVAL of HBCHG; ADT of RESP
#          (time to response = ADT - TRTSDT) and RELAPSE (relapse day);
#   ADTTE  DOR: AVAL (months) and CNSR (0 = relapse) for the Kaplan-Meier and crude
#          medians; the ongoing durations from the censoring date ADT and STARTDT (or
#          TRTSDT), converted to months here;
#   ADLB   baselines of LDH and bilirubin: the last AVAL with RELDY <= 0 (not ABLFL);
#   ADAE   AETERM, ATOXGRN, AESER;  ADEX  EXDOSE, RELDY;  ADCM  CMTRT, CMCAT, RELDY;
#   ADPR   PRDOSE, RELDY;
#   ADCYT  per sample (SMPLID) and population (PARAM, GATEPATH): EVCOUNT, RELDY, the
#          tube PARCAT1 and the sample's QCFLAG; the cytometry percentages are
#          recomputed from the event counts (AVAL is not read). ADCYT holds everything
#          the cytometry claims need, so no cytometry table is read. Without cytometry
#          data (rule param `cytometry` false) ADCYT has zero records and no flow row
#          is computed; run by hand, flow rows come with a `cytometry` entry in cfg.
# Output: one long table keyed like the ARD (stat_id, group, statistic, value);
# src/aiha/qc_compare.py matches it row by row with the ARD.
#
# Run by Snakemake (`script:`, the `snakemake` S4 object), or by hand:
#   Rscript qc_r_double_programming.R <inputs.json> <cfg.json> <out.tsv>
# where inputs.json maps the dataset names (adsl, ..., adcyt) to the Dataset-JSON
# paths and cfg.json holds the params `cfg` of the rule (aiha.settings.qc_r_config).

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

# ---------------------------------------------------------------- inputs
# The one place that knows where the data come from: the ADaM Dataset-JSON v1.1
# files of the analysis-datasets stage (results/adam/<name>.json, the datasets the
# Python statistics stage reads; docs/analysis_datasets.md). Each file becomes a
# data frame: text and date columns as character ("" for null; dates are ISO
# strings), numeric columns as numbers (NA for null).

DATASETS <- c("adsl", "adrs", "adtte", "adae", "adlb", "adex", "adcm", "adpr", "adcyt")

# The variables each dataset must have (a missing one is an error naming the file).
REQUIRED <- list(
  adsl = c("USUBJID", "ANLGRP", "DIAGGRP", "SAFFL", "EFFFL", "AGE", "SEX", "PRIORLN",
           "EVANSFL", "ACROFL", "BHB", "PRTHRFL", "TRTSDT", "LSTFUDT"),
  adrs = c("USUBJID", "PARAMCD", "AVALC", "AVAL", "ADT"),
  adtte = c("USUBJID", "PARAMCD", "STARTDT", "ADT", "AVAL", "CNSR"),
  adae = c("USUBJID", "AETERM", "ATOXGRN", "AESER"),
  adlb = c("USUBJID", "PARAMCD", "AVAL", "RELDY"),
  adex = c("USUBJID", "EXDOSE", "RELDY"),
  adcm = c("USUBJID", "CMTRT", "CMCAT", "RELDY"),
  adpr = c("USUBJID", "PRDOSE", "RELDY"),
  adcyt = c("USUBJID", "SMPLID", "RELDY", "PARCAT1", "PARAM", "GATEPATH", "EVCOUNT",
            "QCFLAG")
)

NUMERIC_TYPES <- c("integer", "double", "float", "decimal")

read_dataset_json <- function(path) {
  doc <- fromJSON(path, simplifyVector = FALSE)
  if (is.null(doc$columns)) stop(sprintf("%s: not a Dataset-JSON file (no columns)", path))
  names_ <- vapply(doc$columns, function(c) as.character(c$name), "")
  types <- vapply(doc$columns, function(c) as.character(c$dataType), "")
  rows <- if (is.null(doc$rows)) list() else doc$rows
  out <- lapply(seq_along(names_), function(i) {
    v <- lapply(rows, function(r) r[[i]])
    miss <- vapply(v, is.null, TRUE)
    if (types[i] %in% NUMERIC_TYPES) {
      x <- rep(NA_real_, length(v))
      x[!miss] <- as.numeric(unlist(v[!miss]))
    } else {
      x <- rep("", length(v))
      x[!miss] <- as.character(unlist(v[!miss]))
    }
    x
  })
  names(out) <- names_
  frame <- as.data.frame(out, stringsAsFactors = FALSE, check.names = FALSE)
  if (length(names_) && nrow(frame) != length(rows)) stop(sprintf("%s: ragged rows", path))
  frame
}

read_qc_inputs <- function(paths) {
  out <- list()
  for (name in DATASETS) {
    path <- paths[[name]]
    if (is.null(path) || !nzchar(path)) stop(sprintf("input %s (results/adam/%s.json) not given", name, name))
    frame <- read_dataset_json(path)
    missing_vars <- setdiff(REQUIRED[[name]], names(frame))
    if (length(missing_vars)) {
      stop(sprintf("%s: variable %s missing", path, paste(missing_vars, collapse = ", ")))
    }
    out[[name]] <- frame
  }
  out
}

# ---------------------------------------------------------------- helpers

num <- function(x) {
  if (is.numeric(x)) return(as.numeric(x))
  suppressWarnings(as.numeric(ifelse(x == "", NA, x)))
}
day_diff <- function(a, b) {
  as.numeric(as.Date(ifelse(a == "", NA, a)) - as.Date(ifelse(b == "", NA, b)))
}

new_rows <- function() {
  e <- new.env()
  e$sid <- character(0); e$grp <- character(0); e$st <- character(0); e$val <- numeric(0)
  e
}
add <- function(rows, sid, grp, st, val) {
  n <- max(length(st), length(val))
  rows$sid <- c(rows$sid, rep(sid, n))
  rows$grp <- c(rows$grp, rep(grp, n))
  rows$st <- c(rows$st, rep(st, length.out = n))
  rows$val <- c(rows$val, rep(as.numeric(val), length.out = n))
  invisible(rows)
}
# median, min, max of the non-missing values (nothing when there are none)
add_summary <- function(rows, sid, grp, values, prefix = "") {
  v <- as.numeric(values)
  v <- v[!is.na(v)]
  if (length(v) == 0) return(invisible(rows))
  add(rows, sid, grp, paste0(prefix, c("median", "min", "max")), c(median(v), min(v), max(v)))
}
ratio <- function(k, n) if (n > 0) k / n else NaN
add_n_prop <- function(rows, sid, grp, k, n, prefix = "") {
  add(rows, sid, grp, paste0(prefix, c("n", "proportion")), c(k, ratio(k, n)))
}
exact_ci <- function(k, n, level) {
  if (n <= 0) return(c(NaN, NaN))
  as.numeric(binom.test(k, n, conf.level = level)$conf.int)
}
add_proportion <- function(rows, sid, grp, k, n, level = NULL) {
  add(rows, sid, grp, c("numerator", "denominator", "proportion"), c(k, n, ratio(k, n)))
  if (!is.null(level)) add(rows, sid, grp, c("ci_lower", "ci_upper"), exact_ci(k, n, level))
  invisible(rows)
}
# Days as months: whole months rounded half up, or exact.
to_months <- function(days, cfg) {
  v <- as.numeric(days) / cfg$days_per_month
  if (cfg$duration_rounding == "whole_months") floor(v + 0.5) else v
}

# ---------------------------------------------------------------- Kaplan-Meier

# Time where a step curve (time, value; value 1 before the first time) reaches 0.5
# under the tie rules lower / midpoint / upper, comparing with `tol` (the spec's
# rules; R's own rule is quantile.survfit, used for r_survival).
tie_quantile <- function(time, value, rule, tol, p = 0.5) {
  t <- c(0, time)
  s <- c(1, value)
  for (i in seq_along(t)) {
    if (is.na(s[i])) next
    if (abs(s[i] - p) <= tol) {
      later <- which(seq_along(t) > i & !is.na(s) & s < s[i] - tol)
      t2 <- if (length(later)) t[later[1]] else if (t[length(t)] > t[i]) t[length(t)] else NaN
      return(switch(rule, lower = t[i], upper = t2, midpoint = (t[i] + t2) / 2,
                    stop("unknown tie rule ", rule)))
    }
    if (s[i] < p - tol) return(t[i])
  }
  NaN
}

km_median <- function(months, event, cfg) {
  fit <- survfit(Surv(months, event) ~ 1, conf.int = cfg$ci_level,
                 conf.type = cfg$km_ci_transform)
  if (cfg$km_tie_rule == "r_survival") {
    q <- quantile(fit, probs = 0.5, conf.int = TRUE)
    out <- c(q$quantile, q$lower, q$upper)
  } else {
    out <- c(tie_quantile(fit$time, fit$surv, cfg$km_tie_rule, cfg$km_tie_tolerance),
             tie_quantile(fit$time, fit$lower, cfg$km_tie_rule, cfg$km_tie_tolerance),
             tie_quantile(fit$time, fit$upper, cfg$km_tie_rule, cfg$km_tie_tolerance))
  }
  as.numeric(ifelse(is.na(out), NaN, out))
}

# S(t) and its pointwise CI at a landmark: the last step at or before t (1 before the
# first); beyond the last observed time not estimable (NaN).
km_landmark <- function(months, event, t, cfg) {
  if (t > max(months)) return(c(NaN, NaN, NaN))
  fit <- survfit(Surv(months, event) ~ 1, conf.int = cfg$ci_level,
                 conf.type = cfg$km_ci_transform)
  at <- which(fit$time <= t)
  if (length(at) == 0) return(c(1, 1, 1))
  i <- max(at)
  out <- c(fit$surv[i], fit$lower[i], fit$upper[i])
  as.numeric(ifelse(is.na(out), NaN, out))
}

# ---------------------------------------------------------------- subjects

GROUPS <- c("all", "wAIHA", "cAIHA", "cAIHA_nonanemic")

# Prior-therapy flags of ADSL and the therapy type each names (the ARD's prefix).
PRIOR_FLAGS <- c(PRCORTFL = "corticosteroids", PRRTXFL = "rituximab",
                 PRIMSFL = "immunosuppressant", PRSPLFL = "splenectomy", PRIVIGFL = "ivig",
                 PRBORFL = "bortezomib", PRCMPFL = "complement_inhibitor",
                 PREPOFL = "erythropoietin", PROTHFL = "other")

is_y <- function(x) !is.na(x) & x == "Y"

# Per patient and parameter the last non-missing AVAL on or before the first dose
# (RELDY <= 0; records in RELDY order, the dataset's order within a day): the baseline
# of STUDY.md, recomputed from ADLB's values and days (not from ABLFL or ADSL).
baseline_value <- function(adlb, code) {
  b <- adlb[adlb$PARAMCD == code & !is.na(adlb$RELDY) & adlb$RELDY <= 0 & !is.na(adlb$AVAL), ]
  b <- b[order(b$RELDY, method = "radix"), ]
  tapply(b$AVAL, b$USUBJID, function(v) v[length(v)])
}

# One row per treated patient (ADSL SAFFL = Y) with the ADRS parameters and the
# baselines from ADLB.
subjects <- function(d) {
  a <- d$adsl[is_y(d$adsl$SAFFL), ]
  s <- data.frame(id = a$USUBJID, group = a$ANLGRP, diag = a$DIAGGRP,
                  eff = is_y(a$EFFFL), evans = is_y(a$EVANSFL), acro = is_y(a$ACROFL),
                  age = a$AGE, sex = a$SEX, lines = a$PRIORLN, bhb = a$BHB,
                  recorded = is_y(a$PRTHRFL), trtsdt = a$TRTSDT, lstfudt = a$LSTFUDT,
                  stringsAsFactors = FALSE)
  for (flag in names(PRIOR_FLAGS)) {
    s[[flag]] <- if (flag %in% names(a)) is_y(a[[flag]]) else rep(FALSE, nrow(a))
  }
  rs <- d$adrs
  param <- function(code, var) {
    x <- rs[rs$PARAMCD == code, ]
    x[[var]][match(s$id, x$USUBJID)]
  }
  s$bor <- param("BOR", "AVALC")
  s$resp <- is_y(param("RESP", "AVALC"))
  s$resp_dt <- param("RESP", "ADT")
  s$ong <- is_y(param("ONGOING", "AVALC"))
  s$relapse <- is_y(param("RELAPSE", "AVALC"))
  s$relapse_dt <- param("RELAPSE", "ADT")
  s$acro_resp <- is_y(param("ACRORSP", "AVALC"))
  s$hb_change <- param("HBCHG", "AVAL")
  s$ldh0 <- as.numeric(baseline_value(d$adlb, "LDH")[s$id])
  s$bili0 <- as.numeric(baseline_value(d$adlb, "BILI")[s$id])
  s$followup_day <- day_diff(s$lstfudt, s$trtsdt)
  s$response_day <- day_diff(s$resp_dt, s$trtsdt)
  s
}

# ---------------------------------------------------------------- clinical

clinical_rows <- function(d, s, cfg, rows) {
  r <- s
  members <- function(g) if (g == "all") r else r[r$group == g, ]
  level <- cfg$ci_level

  for (g in GROUPS) add(rows, "n_treated", g, "n", nrow(members(g)))
  add(rows, "n_efficacy", "all", "n", sum(r$eff))
  for (g in c("wAIHA", "cAIHA")) add(rows, "n_efficacy", g, "n", sum(r$eff & r$group == g))
  for (g in GROUPS) {
    m <- members(g)
    add_summary(rows, "age", g, m$age)
    nf <- sum(m$sex == "F")
    add(rows, "sex_female", g, c("n", "proportion"), c(nf, ratio(nf, nrow(m))))
    add_summary(rows, "prior_lines", g, m$lines)
    add(rows, "evans", g, "n", sum(m$evans))
    add(rows, "acrocyanosis", g, "n", sum(m$acro))
    add_summary(rows, "baseline_hb", g, m$bhb)
    add_summary(rows, "baseline_ldh", g, m$ldh0)
  }

  # ADTTE duration of response (months, AVAL) and its event indicator (CNSR = 0).
  dor <- d$adtte[d$adtte$PARAMCD == "DOR", ]
  dor_of <- function(ids) dor[match(ids, dor$USUBJID), ]

  w <- members("wAIHA")
  rw <- w[w$resp, ]
  add_proportion(rows, "orr", "wAIHA", nrow(rw), nrow(w), level)
  add_proportion(rows, "cr", "wAIHA", sum(w$bor == "CR"), nrow(w))
  add_proportion(rows, "pr", "wAIHA", sum(w$bor == "PR"), nrow(w))
  nr <- w[!w$resp, ]
  add(rows, "nr_evans", "wAIHA", c("numerator", "denominator"), c(sum(nr$evans), nrow(nr)))
  ow <- rw[rw$ong, ]
  add(rows, "ongoing", "wAIHA", c("numerator", "denominator"), c(nrow(ow), nrow(w)))
  # Ongoing durations to the cut-off (the censoring date ADT of DOR) from the response
  # date (STARTDT) or from the first dose (TRTSDT), in months.
  od <- dor_of(ow$id)
  origin <- if (cfg$ongoing_duration_origin == "first_dose") ow$trtsdt else od$STARTDT
  ong <- sort(to_months(day_diff(od$ADT, origin), cfg))
  if (length(ong)) add(rows, "ongoing_duration", "wAIHA", paste0("value_", seq_along(ong)), ong)

  cold <- members("cAIHA")
  rc <- cold[cold$resp, ]
  add_proportion(rows, "hb_response", "cAIHA", nrow(rc), nrow(cold), level)
  add(rows, "ongoing", "cAIHA", c("numerator", "denominator"), c(sum(rc$ong), nrow(cold)))

  for (g in c("wAIHA", "cAIHA")) {
    resp <- if (g == "wAIHA") rw else rc
    if (nrow(resp) == 0) next
    x <- dor_of(resp$id)
    months <- x$AVAL
    event <- as.integer(x$CNSR == 0)
    crude <- median(months)
    add(rows, "dor_median_crude", g, "value", crude)
    add(rows, "dor_min", g, "value", min(months))
    add(rows, "dor_max", g, "value", max(months))
    km <- km_median(months, event, cfg)
    add(rows, "dor_median_km", g, c("value", "ci_lower", "ci_upper"), km)
    # Events and censored responses; the crude median's censored share and whether it
    # is printed; "+" on a censored shortest or longest duration; landmark rates.
    censored <- x$CNSR > 0
    add(rows, "dor_median_km", g, c("events", "censored"), c(sum(!censored), sum(censored)))
    share <- mean(censored)
    add(rows, "dor_median_crude", g, c("censored_share", "estimable"),
        c(share, as.numeric(share <= cfg$crude_median_max_censored_share)))
    add(rows, "dor_min", g, "censored", as.numeric(all(censored[months == min(months)])))
    add(rows, "dor_max", g, "censored", as.numeric(all(censored[months == max(months)])))
    for (m in cfg$landmark_months) {
      key <- paste0("month_", format(m, trim = TRUE))
      add(rows, "dor_landmark", g, paste0(key, c("_rate", "_ci_lower", "_ci_upper")),
          km_landmark(months, event, m, cfg))
    }
    if (g == "wAIHA") {
      add(rows, "dor_median_reported", g, "value",
          if (cfg$dor_median_method == "crude") crude else km[1])
    }
  }

  na <- members("cAIHA_nonanemic")
  if (nrow(na)) {
    change <- na$hb_change
    add(rows, "nonanemic_acro_response", "cAIHA_nonanemic", c("numerator", "denominator"),
        c(sum(na$acro_resp), nrow(na)))
    add(rows, "nonanemic_hb_increase", "cAIHA_nonanemic", c("numerator", "denominator"),
        c(sum(!is.na(change) & change > 0), nrow(na)))
    add_summary(rows, "nonanemic_hb_change", "cAIHA_nonanemic", change)
  }
  pool <- r[r$diag == "cAIHA", ]
  if (cfg$acro_denominator == "efficacy_set") pool <- pool[pool$eff, ]
  acro <- pool[pool$acro, ]
  add(rows, "acro_improved", "cAIHA", c("numerator", "denominator"),
      c(sum(acro$acro_resp), nrow(acro)))

  # Disposition: treated, efficacy set, each reason for leaving it (ADSL.EFFRSN).
  a <- d$adsl[is_y(d$adsl$SAFFL), ]
  reasons <- trimws(ifelse(is.na(a$EFFRSN), "", a$EFFRSN))[!is_y(a$EFFFL)]
  reasons[reasons == ""] <- "missing"
  add(rows, "disposition", "all", c("treated", "efficacy", "excluded"),
      c(nrow(a), sum(is_y(a$EFFFL)), sum(!is_y(a$EFFFL))))
  for (why in sort(unique(reasons), method = "radix")) {
    add(rows, "disposition", "all", paste0("excluded: ", why), sum(reasons == why))
  }

  # Response by each configured ADSL variable, per efficacy group and level.
  for (var in cfg$response_subgroups) {
    level <- trimws(ifelse(is.na(d$adsl[[var]]), "", as.character(d$adsl[[var]])))
    level[level == ""] <- "missing"
    r$level <- level[match(r$id, d$adsl$USUBJID)]
    for (g in c("wAIHA", "cAIHA")) {
      m <- r[r$group == g, ]
      present <- sort(unique(m$level[m$level != "missing"]), method = "radix")
      if (any(m$level == "missing")) present <- c(present, "missing")
      for (lv in present) {
        at <- m[m$level == lv, ]
        add_proportion(rows, paste0("resp_by_", tolower(var)), g, sum(at$resp), nrow(at),
                       level = cfg$ci_level)
        n <- length(rows$st)
        rows$st[(n - 4):n] <- paste0(lv, ": ", rows$st[(n - 4):n])
      }
    }
  }

  # Median follow-up by the reverse Kaplan-Meier method: the end of follow-up of a
  # patient still followed (ADTTE FU, CNSR > 0) is the event, a death censors.
  fu <- d$adtte[d$adtte$PARAMCD == "FU", ]
  for (g in GROUPS) {
    f <- fu[fu$USUBJID %in% members(g)$id & !is.na(fu$AVAL), ]
    if (nrow(f) == 0) next
    months <- as.numeric(f$AVAL) / cfg$days_per_month
    km <- km_median(months, as.integer(f$CNSR > 0), cfg)
    add(rows, "followup_median", g, c("value", "ci_lower", "ci_upper", "n", "min", "max"),
        c(km, nrow(f), min(months), max(months)))
  }

  # AE counts: "all" is every ADAE record, a group the records of its patients.
  ae <- d$adae
  ae_group <- r$group[match(ae$USUBJID, r$id)]
  for (g in GROUPS) {
    a <- if (g == "all") ae else ae[!is.na(ae_group) & ae_group == g, ]
    add(rows, "ae_events", g, "n", nrow(a))
    add(rows, "ae_patients", g, "n", length(unique(a$USUBJID)))
    grade <- a$ATOXGRN
    add(rows, "ae_grade", g, paste0("grade_", 1:5), sapply(1:5, function(k) sum(grade %in% k)))
  }
  invisible(rows)
}

# ---------------------------------------------------------------- report content

prior_therapy_rows <- function(s, members, rows) {
  flags <- names(PRIOR_FLAGS)
  everyone <- members[["all"]]
  everyone <- everyone[everyone$recorded, ]
  if (nrow(everyone) == 0) return(invisible(rows))
  present <- flags[sapply(flags, function(f) any(everyone[[f]]))]
  for (g in GROUPS) {
    x <- members[[g]]
    x <- x[x$recorded, ]
    n <- nrow(x)
    any_had <- rep(FALSE, n)
    for (f in flags) any_had <- any_had | x[[f]]
    add(rows, "baseline_prior_therapy", g, "denominator", n)
    for (f in present) {
      add_n_prop(rows, "baseline_prior_therapy", g, sum(x[[f]]), n,
                 prefix = paste0(PRIOR_FLAGS[[f]], ": "))
    }
    add_n_prop(rows, "baseline_prior_therapy", g, sum(!any_had), n, prefix = "none: ")
  }
  invisible(rows)
}

content_rows <- function(d, s, cfg, rows) {
  r <- s
  members <- function(g) if (g == "all") r else r[r$group == g, ]
  treated <- unique(r$id)
  prior_therapy_rows(s, setNames(lapply(GROUPS, members), GROUPS), rows)

  dara <- d$adex
  dara <- dara[order(dara$USUBJID, dara$RELDY, method = "radix"), ]
  cm <- d$adcm
  later <- cm[cm$CMCAT == "AIHA THERAPY" & !is.na(cm$RELDY) & cm$RELDY > 0, ]
  drugs <- sort(unique(later$CMTRT[later$USUBJID %in% treated]), method = "radix")
  tf <- d$adpr
  ae <- d$adae
  ae$gr <- as.integer(ae$ATOXGRN)
  ae$ser <- is_y(ae$AESER)
  ae_t <- ae[ae$USUBJID %in% treated, ]
  worst_all <- if (nrow(ae_t)) aggregate(gr ~ AETERM + USUBJID, data = ae_t, FUN = max)
               else data.frame(AETERM = character(0), gr = integer(0))
  terms <- sort(unique(ae_t$AETERM), method = "radix")
  windows <- cfg$transfusion_windows_days
  if (is.null(dim(windows))) windows <- matrix(unlist(windows), ncol = 2, byrow = TRUE)

  for (g in GROUPS) {
    m <- members(g)
    ids <- unique(m$id)
    n <- nrow(m)
    add_summary(rows, "baseline_bilirubin", g, m$bili0)
    add_n_prop(rows, "baseline_evans", g, sum(m$evans), n)
    add_n_prop(rows, "baseline_acrocyanosis", g, sum(m$acro), n)
    dd <- dara[dara$USUBJID %in% ids, ]
    if (nrow(dd)) {
      add_summary(rows, "exposure_doses", g, as.numeric(table(dd$USUBJID)))
      add_summary(rows, "exposure_dose_mg", g, dd$EXDOSE)
      gaps <- unlist(lapply(split(dd$RELDY, dd$USUBJID), diff))
      add_summary(rows, "exposure_interval_days", g, gaps)
      add_summary(rows, "exposure_span_days", g,
                  sapply(split(dd$RELDY, dd$USUBJID), function(x) max(x) - min(x)))
    }
    lt <- later[later$USUBJID %in% ids, ]
    add_n_prop(rows, "later_therapy", g, length(unique(lt$USUBJID)), n)
    for (drug in drugs) {
      add_n_prop(rows, "later_therapy_drug", g,
                 length(unique(lt$USUBJID[lt$CMTRT == drug])), n, prefix = paste0(drug, ": "))
    }
    tg <- tf[tf$USUBJID %in% ids, ]
    for (k in seq_len(nrow(windows))) {
      start <- windows[k, 1]
      end <- windows[k, 2]
      sid <- paste0("transfusion_w", k)
      followed <- if (start > 0) m$id[!is.na(m$followup_day) & m$followup_day >= start]
                  else m$id
      followed <- unique(followed)
      inside <- tg[!is.na(tg$RELDY) & tg$RELDY >= start & tg$RELDY <= end
                   & tg$USUBJID %in% followed, ]
      per_patient <- as.numeric(sapply(followed, function(id)
        sum(inside$PRDOSE[inside$USUBJID == id])))
      k_tr <- sum(per_patient > 0)
      add(rows, sid, g, c("start_day", "end_day", "denominator", "numerator", "proportion",
                          "units"),
          c(start, end, length(followed), k_tr, ratio(k_tr, length(followed)),
            sum(inside$PRDOSE)))
      add_summary(rows, sid, g, per_patient, prefix = "units_")
    }
    resp <- m[m$resp, ]
    add_summary(rows, "time_to_response", g, resp$response_day)
    add(rows, "time_to_response", g, "n", nrow(resp))
    a <- ae[ae$USUBJID %in% ids, ]
    for (term in terms) {
      x <- a[a$AETERM == term, ]
      worst <- if (nrow(x)) tapply(x$gr, x$USUBJID, max) else integer(0)
      add_n_prop(rows, "ae_term", g, length(worst), n, prefix = paste0(term, ": any grade "))
      for (grade in sort(unique(worst_all$gr[worst_all$AETERM == term]))) {
        add_n_prop(rows, "ae_term", g, sum(worst == grade), n,
                   prefix = paste0(term, ": grade ", grade, " "))
      }
      add_n_prop(rows, "ae_term", g, length(unique(x$USUBJID[x$ser])), n,
                 prefix = paste0(term, ": serious "))
    }
    add_n_prop(rows, "ae_serious", g, length(unique(a$USUBJID[a$ser])), n)
  }
  invisible(rows)
}

# ---------------------------------------------------------------- safety

# Treatment-emergent events (ADAE TRTEMFL = Y) of the treated patients: patients with
# any event, grade 3-5, serious, related and fatal (when recorded); by system organ
# class (an empty AEBODSYS is "not mapped"); infections (AINFFL = Y).
safety_rows <- function(d, s, rows) {
  col <- function(x, name) if (name %in% names(x)) ifelse(is.na(x[[name]]), "", x[[name]])
                           else rep("", nrow(x))
  ae <- d$adae[col(d$adae, "TRTEMFL") == "Y" & d$adae$USUBJID %in% s$id, ]
  grade <- as.numeric(ae$ATOXGRN)
  soc <- trimws(col(ae, "AEBODSYS"))
  soc[soc == ""] <- "not mapped"
  rel <- col(ae, "AEREL")
  out <- col(ae, "AEOUT")
  socs <- sort(unique(soc[soc != "not mapped"]), method = "radix")
  if (any(soc == "not mapped")) socs <- c(socs, "not mapped")
  pts <- function(keep) length(unique(ae$USUBJID[keep]))
  for (g in GROUPS) {
    ids <- if (g == "all") s$id else s$id[s$group == g]
    n <- length(ids)
    mine <- ae$USUBJID %in% ids
    add_n_prop(rows, "ae_summary", g, pts(mine & grade > 0), n, prefix = "any: ")
    add_n_prop(rows, "ae_summary", g, pts(mine & grade >= 3), n, prefix = "grade 3-5: ")
    add_n_prop(rows, "ae_summary", g, pts(mine & col(ae, "AESER") == "Y"), n, prefix = "serious: ")
    if (any(rel != "")) {
      add_n_prop(rows, "ae_summary", g, pts(mine & rel == "Y"), n, prefix = "related: ")
      add(rows, "ae_summary", g, "related recorded: n", sum(mine & rel != ""))
    }
    if (any(out != "")) {
      add_n_prop(rows, "ae_summary", g, pts(mine & out == "fatal"), n, prefix = "fatal: ")
      add(rows, "ae_summary", g, "outcome recorded: n", sum(mine & out != ""))
    }
    for (x in socs) {
      add_n_prop(rows, "ae_soc", g, pts(mine & soc == x & grade > 0), n,
                 prefix = paste0(x, ": any grade "))
      add_n_prop(rows, "ae_soc", g, pts(mine & soc == x & grade >= 3), n,
                 prefix = paste0(x, ": grade 3-5 "))
      for (term in sort(unique(ae$AETERM[soc == x]), method = "radix")) {
        add_n_prop(rows, "ae_soc", g, pts(mine & soc == x & ae$AETERM == term), n,
                   prefix = paste0(x, " | ", term, ": any grade "))
      }
    }
    inf <- mine & col(ae, "AINFFL") == "Y"
    add_n_prop(rows, "ae_infection", g, pts(inf & grade > 0), n, prefix = "any: ")
    add_n_prop(rows, "ae_infection", g, pts(inf & grade >= 3), n, prefix = "grade 3-5: ")
    add_n_prop(rows, "ae_infection", g, pts(inf & col(ae, "AESER") == "Y"), n, prefix = "serious: ")
  }
  invisible(rows)
}

# ---------------------------------------------------------------- cytometry

# One sample's count of a population named (docs/cytometry.md) by its gate name, else
# (a name with "/") by its gate path: "/A/B" from the root, "A/B" the path's last gates.
population_count <- function(rows, spec) {
  hit <- rows$population == spec
  if (!any(hit) && grepl("/", spec)) {
    hit <- if (startsWith(spec, "/")) rows$gate_path == substring(spec, 2)
           else rows$gate_path == spec | endsWith(rows$gate_path, paste0("/", spec))
  }
  if (sum(hit) != 1) {
    stop(sprintf("populations: sample %s: population %s found %d times",
                 rows$sample_id[1], spec, sum(hit)))
  }
  num(rows$count[hit])
}

# Per sample of a tube: population as a percentage of the T cells.
percent_of_t <- function(pops, population, t_cells, tube) {
  sub <- pops[pops$tube == tube, ]
  if (nrow(sub) == 0) {
    return(data.frame(patient_id = character(0), day = numeric(0), percent = numeric(0)))
  }
  parts <- split(sub, sub$sample_id)
  out <- do.call(rbind, lapply(parts, function(x) {
    denom <- population_count(x, t_cells)
    data.frame(patient_id = x$patient_id[1], day = num(x$day[1]),
               percent = if (denom > 0) 100 * population_count(x, population) / denom else NaN)
  }))
  out[order(out$patient_id, out$day, method = "radix"), ]
}

baseline_pct <- function(s) {
  pre <- s$percent[s$day <= 0]
  if (length(pre)) pre[length(pre)] else NaN
}
window_mean <- function(s, w) {
  x <- s$percent[s$day >= w[1] & s$day <= w[2]]
  if (length(x)) mean(x) else NaN
}

# ADCYT's records (one per sample and population) under the names used below: the
# sample (SMPLID), patient (USUBJID), day (RELDY), tube (PARCAT1), population name
# (PARAM), gate path (GATEPATH), events (EVCOUNT) and the sample's QC flag (QCFLAG).
cytometry_populations <- function(adcyt) {
  data.frame(sample_id = adcyt$SMPLID, patient_id = adcyt$USUBJID, day = adcyt$RELDY,
             tube = adcyt$PARCAT1, population = adcyt$PARAM, gate_path = adcyt$GATEPATH,
             count = adcyt$EVCOUNT, qc_flag = adcyt$QCFLAG, stringsAsFactors = FALSE)
}

cytometry_rows <- function(d, subj, cyto, rows) {
  all_pops <- cytometry_populations(d$adcyt)
  pops <- all_pops
  if (isTRUE(cyto$exclude_flagged)) pops <- pops[pops$qc_flag == "", ]
  pp <- cyto$populations
  cl <- cyto$claims
  kept <- unique(pops[, c("sample_id", "patient_id")])
  add(rows, "flow_n", "all", c("n", "samples", "samples_excluded_qc"),
      c(length(unique(kept$patient_id)), nrow(kept),
        length(unique(all_pops$sample_id)) - nrow(kept)))
  # Per analysis group: the patients of the group with a sample passing QC (the
  # claim counts wAIHA, so its row is always there; another group only when it has one).
  grp <- subj$group[match(unique(kept$patient_id), subj$id)]
  grp <- grp[!is.na(grp)]
  for (g in sort(unique(c("wAIHA", grp)), method = "radix"))
    add(rows, "flow_n", g, "n", sum(grp == g))

  cd38 <- percent_of_t(pops, pp$cd38, pp$t_cells, "phenotype")
  thr <- cl$depletion_threshold_percent
  num_d <- den_d <- 0
  for (pid in sort(unique(cd38$patient_id), method = "radix")) {
    s <- cd38[cd38$patient_id == pid, ]
    base <- baseline_pct(s)
    post <- s[s$day >= cl$depletion_window_days[1] & s$day <= cl$depletion_window_days[2], ]
    if (is.nan(base) || nrow(post) == 0) next
    den_d <- den_d + 1
    i <- which.min(post$percent)
    dep <- post$percent[i] < thr
    num_d <- num_d + dep
    add(rows, "flow_depletion", pid, c("baseline_percent", "nadir_percent", "nadir_day", "depleted"),
        c(base, post$percent[i], post$day[i], dep))
  }
  add(rows, "flow_depletion", "all", c("numerator", "denominator"), c(num_d, den_d))

  keys <- c("naive", "central_memory", "effector_memory", "temra")
  shares <- lapply(keys, function(k) percent_of_t(pops, pp$subsets[[k]], pp$t_cells, "phenotype"))
  names(shares) <- keys
  num_s <- den_s <- 0
  pids <- sort(unique(unlist(lapply(shares, function(f) f$patient_id))), method = "radix")
  for (pid in pids) {
    base <- sapply(keys, function(k) baseline_pct(shares[[k]][shares[[k]]$patient_id == pid, ]))
    post <- sapply(keys, function(k) window_mean(shares[[k]][shares[[k]]$patient_id == pid, ],
                                                 cl$post_window_days))
    if (any(is.nan(c(base, post)))) next
    den_s <- den_s + 1
    change <- post - base
    me <- sum(change[cl$memory_effector_subsets])
    shifted <- change[["naive"]] <= -cl$subset_shift_pp && me >= cl$subset_shift_pp
    num_s <- num_s + shifted
    for (k in keys) {
      add(rows, "flow_subsets", pid, paste0(k, c("_baseline", "_post", "_change_pp")),
          c(base[[k]], post[[k]], change[[k]]))
    }
    add(rows, "flow_subsets", pid, c("memory_effector_change_pp", "shifted"), c(me, shifted))
  }
  add(rows, "flow_subsets", "all", c("numerator", "denominator"), c(num_s, den_s))

  fr <- list(activation = percent_of_t(pops, pp$activation, pp$t_cells, "function"),
             divided = percent_of_t(pops, pp$divided, pp$t_cells, "function"))
  num_f <- den_f <- 0
  pids <- sort(unique(c(fr$activation$patient_id, fr$divided$patient_id)), method = "radix")
  for (pid in pids) {
    vals <- lapply(fr, function(f) {
      s <- f[f$patient_id == pid, ]
      c(baseline_pct(s), window_mean(s, cl$post_window_days))
    })
    if (any(is.nan(unlist(vals)))) next
    den_f <- den_f + 1
    folds <- sapply(vals, function(v) if (v[2] > 0) v[1] / v[2] else if (v[1] > 0) Inf else NaN)
    dim_ <- all(!is.nan(folds) & folds >= cl$function_fold_factor)
    num_f <- num_f + dim_
    for (nm in names(fr)) {
      add(rows, "flow_function", pid, paste0(nm, c("_baseline", "_post", "_fold")),
          c(vals[[nm]], folds[[nm]]))
    }
    add(rows, "flow_function", pid, "diminished", dim_)
  }
  add(rows, "flow_function", "all", c("numerator", "denominator"), c(num_f, den_f))

  # Relapse day: ADRS RELAPSE's ADT (AVALC = Y) minus TRTSDT, days from the first dose.
  rel <- subj[subj$relapse & subj$relapse_dt != "", ]
  relapse <- setNames(day_diff(rel$relapse_dt, rel$trtsdt), rel$id)
  co <- with_rel <- without_rel <- 0
  for (pid in sort(unique(cd38$patient_id), method = "radix")) {
    s <- cd38[cd38$patient_id == pid & cd38$day > 0, ]
    re_day <- re_pct <- NaN
    if (nrow(s) && min(s$percent, na.rm = TRUE) < thr) {
      after <- s[which.min(s$percent):nrow(s), ]
      hits <- which(after$percent >= cl$reappearance_threshold_percent)
      if (length(hits)) {
        re_day <- after$day[hits[1]]
        re_pct <- after$percent[hits[1]]
      }
    }
    if (!(pid %in% names(relapse))) {
      without_rel <- without_rel + !is.nan(re_day)
      next
    }
    with_rel <- with_rel + 1
    hit <- !is.nan(re_day) && abs(re_day - relapse[[pid]]) <= cl$relapse_window_days
    co <- co + hit
    add(rows, "flow_relapse", pid, c("relapse_day", "reappearance_day", "reappearance_percent",
                                     "coincided"), c(relapse[[pid]], re_day, re_pct, hit))
  }
  add(rows, "flow_relapse", "all", c("n", "denominator", "reappeared_without_relapse"),
      c(co, with_rel, without_rel))
  invisible(rows)
}

# ---------------------------------------------------------------- main

format_value <- function(v) {
  out <- sprintf("%.17g", v)
  out[is.na(v)] <- ""
  out[is.infinite(v) & v > 0] <- "inf"
  out[is.infinite(v) & v < 0] <- "-inf"
  out
}

session_line <- function() {
  sprintf("R %s.%s, survival %s, jsonlite %s", R.version$major, R.version$minor,
          as.character(packageVersion("survival")), as.character(packageVersion("jsonlite")))
}

# Every count pair (numerator or n, with denominator) without a proportion gets one:
# numerator / denominator, NaN for a zero denominator (the spec of an n/N (%) cell).
count_proportions <- function(rows) {
  key <- paste(rows$sid, rows$grp, sep = "\r")
  for (k in unique(key)) {
    st <- rows$st[key == k]
    val <- rows$val[key == k]
    if ("proportion" %in% st || !("denominator" %in% st)) next
    num <- if ("numerator" %in% st) val[st == "numerator"] else if ("n" %in% st) val[st == "n"] else NULL
    if (is.null(num)) next
    den <- val[st == "denominator"]
    parts <- strsplit(k, "\r", fixed = TRUE)[[1]]
    add(rows, parts[1], parts[2], "proportion", if (den != 0) num / den else NaN)
  }
  invisible(rows)
}

r_double_programming <- function(paths, cfg, out_path, session_path = NULL) {
  d <- read_qc_inputs(paths)
  s <- subjects(d)
  rows <- new_rows()
  clinical_rows(d, s, cfg, rows)
  content_rows(d, s, cfg, rows)
  safety_rows(d, s, rows)
  # The flow-cytometry claims where the study has cytometry (ADCYT is empty otherwise).
  if (!is.null(cfg$cytometry)) cytometry_rows(d, s, cfg$cytometry, rows)
  count_proportions(rows)
  table <- data.frame(stat_id = rows$sid, group = rows$grp, statistic = rows$st,
                      value = format_value(rows$val), stringsAsFactors = FALSE)
  tmp <- paste0(out_path, ".tmp")
  write.table(table, tmp, sep = "\t", quote = FALSE, row.names = FALSE, na = "")
  file.rename(tmp, out_path)
  if (!is.null(session_path)) writeLines(session_line(), session_path)
  cat(sprintf("%s: %d statistics recomputed\n", session_line(), nrow(table)))
  invisible(table)
}

main <- function() {
  if (exists("snakemake")) {
    log <- file(snakemake@log[[1]], open = "wt")
    sink(log)
    sink(log, type = "message")
    inp <- snakemake@input
    paths <- list()
    for (name in DATASETS) {
      if (!is.null(inp[[name]])) paths[[name]] <- inp[[name]]
    }
    cfg <- fromJSON(snakemake@params[["cfg"]], simplifyVector = TRUE)
    # The cytometry arm runs only with cytometry data (param `cytometry`); without,
    # ADCYT is empty and no flow row is computed, whatever the config section says.
    if (!isTRUE(snakemake@params[["cytometry"]])) cfg$cytometry <- NULL
    out <- snakemake@output[["table"]]
    session <- snakemake@output[["session"]]
  } else {
    args <- commandArgs(trailingOnly = TRUE)
    if (length(args) != 3) stop("usage: Rscript qc_r_double_programming.R inputs.json cfg.json out.tsv")
    paths <- fromJSON(args[1], simplifyVector = TRUE)
    cfg <- fromJSON(args[2], simplifyVector = TRUE)
    out <- args[3]
    session <- NULL
  }
  r_double_programming(paths, cfg, out, session)
}

# Run as a script (Snakemake or Rscript), not when source()d (the tests read its functions).
if (sys.nframe() == 0L) main()
