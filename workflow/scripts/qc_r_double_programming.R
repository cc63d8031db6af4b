# Independent double programming in R (rule qc_r_double_programming).
#
# Every statistic of the analysis-results dataset (ARD) recomputed from the
# specification (STUDY.md, docs/tables.md, docs/validation.md) in a second language,
# from the study's input tables only: the cleaned clinical tables, the scored
# per-patient responses and the cytometry population counts. No Python-computed
# statistic and no ARD value is read here. Output: one long table keyed like the
# ARD (stat_id, group, statistic, value); src/aiha/qc_compare.py matches it row by
# row with the ARD.
#
# Run by Snakemake (`script:`, the `snakemake` S4 object), or by hand:
#   Rscript qc_r_double_programming.R <inputs.json> <cfg.json> <out.tsv>
# where inputs.json maps the input names below to paths and cfg.json holds the
# params `cfg` of the rule (aiha.settings.qc_r_config).

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

# ---------------------------------------------------------------- inputs
# The one place that knows where the data come from. Today: the cleaned tables of
# results/clinical/, results/response/responses.tsv and (with cytometry)
# results/cytometry/populations.tsv and qc.tsv. When the analysis-datasets stage
# (ADaM Dataset-JSON) lands, only this function changes: it must hand back the
# same data frames (all columns as character, "" for missing).

read_tsv_chr <- function(path) {
  read.delim(path, sep = "\t", colClasses = "character", na.strings = character(0),
             quote = "", comment.char = "", check.names = FALSE)
}

read_qc_inputs <- function(paths) {
  tables <- c("patients", "responses", "labs", "transfusions", "treatments",
              "adverse_events")
  out <- lapply(tables, function(name) read_tsv_chr(paths[[name]]))
  names(out) <- tables
  if (!is.null(paths[["populations"]]) && nzchar(paths[["populations"]])) {
    out$populations <- read_tsv_chr(paths[["populations"]])
    out$cytometry_qc <- read_tsv_chr(paths[["cytometry_qc"]])
  }
  out
}

# ---------------------------------------------------------------- helpers

truthy <- function(x) tolower(trimws(as.character(x))) %in% c("true", "1", "1.0", "yes")
num <- function(x) suppressWarnings(as.numeric(ifelse(x == "", NA, x)))
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

# ---------------------------------------------------------------- clinical

GROUPS <- c("all", "wAIHA", "cAIHA", "cAIHA_nonanemic")

baseline_value <- function(labs, analyte) {
  b <- labs[labs$analyte == analyte & num(labs$day) <= 0, ]
  b <- b[order(num(b$day), method = "radix"), ]
  last <- tapply(num(b$value), b$patient_id, function(v) v[length(v)])
  last
}

clinical_rows <- function(d, cfg, rows) {
  r <- d$responses
  p <- d$patients
  r$eff <- truthy(r$efficacy_set)
  r$resp <- truthy(r$responder)
  r$ong <- truthy(r$ongoing)
  r$ev <- truthy(r$evans)
  r$acro <- truthy(r$acrocyanosis)
  pm <- match(r$patient_id, p$patient_id)
  r$age <- num(p$age_at_first_dose[pm])
  r$sex <- p$sex[pm]
  r$lines <- num(p$prior_lines[pm])
  ldh0 <- baseline_value(d$labs, "ldh")
  r$ldh0 <- as.numeric(ldh0[r$patient_id])
  members <- function(g) if (g == "all") r else r[r$analysis_group == g, ]
  level <- cfg$ci_level

  for (g in GROUPS) add(rows, "n_treated", g, "n", nrow(members(g)))
  add(rows, "n_efficacy", "all", "n", sum(r$eff))
  for (g in c("wAIHA", "cAIHA")) add(rows, "n_efficacy", g, "n", sum(r$eff & r$analysis_group == g))
  for (g in GROUPS) {
    m <- members(g)
    add_summary(rows, "age", g, m$age)
    nf <- sum(m$sex == "female")
    add(rows, "sex_female", g, c("n", "proportion"), c(nf, ratio(nf, nrow(m))))
    add_summary(rows, "prior_lines", g, m$lines)
    add(rows, "evans", g, "n", sum(m$ev))
    add(rows, "acrocyanosis", g, "n", sum(m$acro))
    add_summary(rows, "baseline_hb", g, num(m$baseline_hb))
    add_summary(rows, "baseline_ldh", g, m$ldh0)
  }

  w <- members("wAIHA")
  rw <- w[w$resp, ]
  add_proportion(rows, "orr", "wAIHA", nrow(rw), nrow(w), level)
  add_proportion(rows, "cr", "wAIHA", sum(w$best_response == "CR"), nrow(w))
  add_proportion(rows, "pr", "wAIHA", sum(w$best_response == "PR"), nrow(w))
  nr <- w[!w$resp, ]
  add(rows, "nr_evans", "wAIHA", c("numerator", "denominator"), c(sum(nr$ev), nrow(nr)))
  ow <- rw[rw$ong, ]
  add(rows, "ongoing", "wAIHA", c("numerator", "denominator"), c(nrow(ow), nrow(w)))
  # Ongoing durations from the response date (or the first dose) to the cut-off.
  ong_days <- num(ow$duration_days)
  if (cfg$ongoing_duration_origin == "first_dose") {
    ong_days <- ong_days + day_diff(ow$response_date, ow$first_dose_date)
  }
  ong <- sort(to_months(ong_days, cfg))
  if (length(ong)) add(rows, "ongoing_duration", "wAIHA", paste0("value_", seq_along(ong)), ong)

  cold <- members("cAIHA")
  rc <- cold[cold$resp, ]
  add_proportion(rows, "hb_response", "cAIHA", nrow(rc), nrow(cold), level)
  add(rows, "ongoing", "cAIHA", c("numerator", "denominator"), c(sum(rc$ong), nrow(cold)))

  for (g in c("wAIHA", "cAIHA")) {
    resp <- if (g == "wAIHA") rw else rc
    if (nrow(resp) == 0) next
    months <- to_months(num(resp$duration_days), cfg)
    event <- as.integer(num(resp$event))
    crude <- median(months)
    add(rows, "dor_median_crude", g, "value", crude)
    add(rows, "dor_min", g, "value", min(months))
    add(rows, "dor_max", g, "value", max(months))
    km <- km_median(months, event, cfg)
    add(rows, "dor_median_km", g, c("value", "ci_lower", "ci_upper"), km)
    if (g == "wAIHA") {
      add(rows, "dor_median_reported", g, "value",
          if (cfg$dor_median_method == "crude") crude else km[1])
    }
  }

  na <- members("cAIHA_nonanemic")
  if (nrow(na)) {
    change <- num(na$hb_change)
    add(rows, "nonanemic_acro_response", "cAIHA_nonanemic", c("numerator", "denominator"),
        c(sum(na$acrocyanosis_response == "True"), nrow(na)))
    add(rows, "nonanemic_hb_increase", "cAIHA_nonanemic", c("numerator", "denominator"),
        c(sum(!is.na(change) & change > 0), nrow(na)))
    add_summary(rows, "nonanemic_hb_change", "cAIHA_nonanemic", change)
  }
  pool <- r[r$diagnosis == "cAIHA", ]
  if (cfg$acro_denominator == "efficacy_set") pool <- pool[pool$eff, ]
  acro <- pool[pool$acro, ]
  add(rows, "acro_improved", "cAIHA", c("numerator", "denominator"),
      c(sum(acro$acrocyanosis_response == "True"), nrow(acro)))

  ae <- d$adverse_events
  ae_group <- r$analysis_group[match(ae$patient_id, r$patient_id)]
  for (g in GROUPS) {
    a <- if (g == "all") ae else ae[!is.na(ae_group) & ae_group == g, ]
    add(rows, "ae_events", g, "n", nrow(a))
    add(rows, "ae_patients", g, "n", length(unique(a$patient_id)))
    grade <- num(a$grade)
    add(rows, "ae_grade", g, paste0("grade_", 1:5), sapply(1:5, function(k) sum(grade == k)))
  }
  invisible(rows)
}

# ---------------------------------------------------------------- report content

prior_therapy_rows <- function(p, members, rows) {
  if (!("prior_therapies_recorded" %in% names(p))) return(invisible(rows))
  types <- setdiff(grep("^prior_", names(p), value = TRUE),
                   c("prior_lines", "prior_therapies_recorded"))
  recorded <- function(ids) {
    x <- p[p$patient_id %in% ids, ]
    x[truthy(x$prior_therapies_recorded), ]
  }
  everyone <- recorded(members[["all"]])
  if (nrow(everyone) == 0) return(invisible(rows))
  present <- types[sapply(types, function(t) any(truthy(everyone[[t]])))]
  for (g in GROUPS) {
    x <- recorded(members[[g]])
    n <- nrow(x)
    any_had <- rep(FALSE, n)
    for (t in types) any_had <- any_had | truthy(x[[t]])
    add(rows, "baseline_prior_therapy", g, "denominator", n)
    for (t in present) {
      add_n_prop(rows, "baseline_prior_therapy", g, sum(truthy(x[[t]])), n,
                 prefix = paste0(sub("^prior_", "", t), ": "))
    }
    none <- sum(!any_had)
    add_n_prop(rows, "baseline_prior_therapy", g, none, n, prefix = "none: ")
  }
  invisible(rows)
}

content_rows <- function(d, cfg, rows) {
  r <- d$responses
  p <- d$patients
  r$followup_day <- day_diff(r$last_followup_date, r$first_dose_date)
  r$response_day <- day_diff(r$response_date, r$first_dose_date)
  members <- function(g) if (g == "all") r else r[r$analysis_group == g, ]
  treated <- unique(r$patient_id)
  prior_therapy_rows(p, setNames(lapply(GROUPS, function(g) members(g)$patient_id), GROUPS), rows)

  bili0 <- baseline_value(d$labs, "bilirubin")
  tr <- d$treatments
  tr$dayn <- num(tr$day)
  dara <- tr[tr$treatment == "daratumumab", ]
  dara <- dara[order(dara$patient_id, dara$dayn, method = "radix"), ]
  later <- tr[tr$treatment == "aiha_therapy" & tr$dayn > 0, ]
  drugs <- sort(unique(later$drug[later$patient_id %in% treated]), method = "radix")
  tf <- d$transfusions
  tf$dayn <- num(tf$day)
  tf$unitsn <- num(tf$units)
  ae <- d$adverse_events
  ae$gr <- as.integer(num(ae$grade))
  ae$ser <- truthy(ae$serious)
  ae_t <- ae[ae$patient_id %in% treated, ]
  worst_all <- if (nrow(ae_t)) aggregate(gr ~ term + patient_id, data = ae_t, FUN = max)
               else data.frame(term = character(0), gr = integer(0))
  terms <- sort(unique(ae_t$term), method = "radix")
  windows <- cfg$transfusion_windows_days
  if (is.null(dim(windows))) windows <- matrix(unlist(windows), ncol = 2, byrow = TRUE)

  for (g in GROUPS) {
    m <- members(g)
    ids <- unique(m$patient_id)
    n <- nrow(m)
    add_summary(rows, "baseline_bilirubin", g, as.numeric(bili0[m$patient_id]))
    for (col in c("evans", "acrocyanosis")) {
      add_n_prop(rows, paste0("baseline_", col), g,
                 sum(truthy(p[[col]][p$patient_id %in% ids])), n)
    }
    dd <- dara[dara$patient_id %in% ids, ]
    if (nrow(dd)) {
      add_summary(rows, "exposure_doses", g, as.numeric(table(dd$patient_id)))
      add_summary(rows, "exposure_dose_mg", g, num(dd$dose_mg))
      gaps <- unlist(lapply(split(dd$dayn, dd$patient_id), diff))
      add_summary(rows, "exposure_interval_days", g, gaps)
      add_summary(rows, "exposure_span_days", g,
                  sapply(split(dd$dayn, dd$patient_id), function(x) max(x) - min(x)))
    }
    lt <- later[later$patient_id %in% ids, ]
    add_n_prop(rows, "later_therapy", g, length(unique(lt$patient_id)), n)
    for (drug in drugs) {
      add_n_prop(rows, "later_therapy_drug", g,
                 length(unique(lt$patient_id[lt$drug == drug])), n, prefix = paste0(drug, ": "))
    }
    tg <- tf[tf$patient_id %in% ids, ]
    for (k in seq_len(nrow(windows))) {
      start <- windows[k, 1]
      end <- windows[k, 2]
      sid <- paste0("transfusion_w", k)
      followed <- if (start > 0) m$patient_id[!is.na(m$followup_day) & m$followup_day >= start]
                  else m$patient_id
      followed <- unique(followed)
      inside <- tg[tg$dayn >= start & tg$dayn <= end & tg$patient_id %in% followed, ]
      per_patient <- sapply(followed, function(id) sum(inside$unitsn[inside$patient_id == id]))
      per_patient <- as.numeric(per_patient)
      k_tr <- sum(per_patient > 0)
      add(rows, sid, g, c("start_day", "end_day", "denominator", "numerator", "proportion",
                          "units"),
          c(start, end, length(followed), k_tr, ratio(k_tr, length(followed)),
            sum(inside$unitsn)))
      add_summary(rows, sid, g, per_patient, prefix = "units_")
    }
    resp <- m[truthy(m$responder), ]
    add_summary(rows, "time_to_response", g, resp$response_day)
    add(rows, "time_to_response", g, "n", nrow(resp))
    a <- ae[ae$patient_id %in% ids, ]
    for (term in terms) {
      x <- a[a$term == term, ]
      worst <- if (nrow(x)) tapply(x$gr, x$patient_id, max) else integer(0)
      add_n_prop(rows, "ae_term", g, length(worst), n, prefix = paste0(term, ": any grade "))
      for (grade in sort(unique(worst_all$gr[worst_all$term == term]))) {
        add_n_prop(rows, "ae_term", g, sum(worst == grade), n,
                   prefix = paste0(term, ": grade ", grade, " "))
      }
      add_n_prop(rows, "ae_term", g, length(unique(x$patient_id[x$ser])), n,
                 prefix = paste0(term, ": serious "))
    }
    add_n_prop(rows, "ae_serious", g, length(unique(a$patient_id[a$ser])), n)
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

cytometry_rows <- function(d, cyto, rows) {
  pops <- d$populations
  qc <- d$cytometry_qc
  if (isTRUE(cyto$exclude_flagged)) {
    flagged <- qc$sample_id[qc$qc_flag != ""]
    pops <- pops[!(pops$sample_id %in% flagged), ]
  }
  pp <- cyto$populations
  cl <- cyto$claims
  kept <- unique(pops[, c("sample_id", "patient_id")])
  add(rows, "flow_n", "all", c("n", "samples", "samples_excluded_qc"),
      c(length(unique(kept$patient_id)), nrow(kept),
        length(unique(d$populations$sample_id)) - nrow(kept)))

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

  r <- d$responses
  rel <- r[r$relapse_date != "" & tolower(r$relapse_date) != "nan", ]
  relapse <- setNames(day_diff(rel$relapse_date, rel$first_dose_date), rel$patient_id)
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

r_double_programming <- function(paths, cfg, out_path, session_path = NULL) {
  d <- read_qc_inputs(paths)
  rows <- new_rows()
  clinical_rows(d, cfg, rows)
  content_rows(d, cfg, rows)
  if (!is.null(d$populations)) cytometry_rows(d, cfg$cytometry, rows)
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
    for (name in c("patients", "responses", "labs", "transfusions", "treatments",
                   "adverse_events", "populations", "cytometry_qc")) {
      if (!is.null(inp[[name]])) paths[[name]] <- inp[[name]]
    }
    cfg <- fromJSON(snakemake@params[["cfg"]], simplifyVector = TRUE)
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
