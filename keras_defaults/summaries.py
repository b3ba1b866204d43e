"""The statistics of data files, from one streaming pass with bounded memory.

The pass keeps exact counts of rows and missing values, value counts of every column that could be categorical
(exact up to `COUNTED_VALUES` distinct values a column, then Misra-Gries summaries that keep every frequent value),
and a uniform sample of `SAMPLE_ROWS` rows. Kinds, quantiles and text vocabularies are learned from the sample,
exactly as from a DataFrame; `correct_inputs` and `correct_targets` then replace what a sample cannot know for sure
(row and missing counts, vocabularies, classes, missing-value flags) by what the counts over every row say.
"""

import dataclasses

import numpy as np
import pandas as pd

from keras_defaults import frames, sources
from keras_defaults.errors import DataError
from keras_defaults.schema import containers_held

# Rows of the uniform sample that kinds, quantiles and text vocabularies are learned from.
SAMPLE_ROWS = 100_000
# Distinct values counted exactly per column before its counts are summarised (at least 10 per vocabulary slot).
COUNTED_VALUES = 20_000


@dataclasses.dataclass
class FileSummary:
    """What one pass over the files learned. `files` carries the rows with a target, per file and chunk."""

    files: sources.Files
    sample: pd.DataFrame
    missing: dict
    counts: dict
    summarised: set
    # {column: (min, max)} of the finite values of every column stored as numbers, over every row: a number's
    # training range, which the sample alone would narrow.
    ranges: dict = dataclasses.field(default_factory=dict)

    @property
    def rows(self):
        return self.files.rows


def summarise(source, targets, categorical, seed):
    """One pass over the files of `source`: a `FileSummary`. `categorical` names the columns forced to be labels
    (their counts are kept even when their values are fractional numbers)."""
    files = dataclasses.replace(sources.resolve_files(source), chunk_size=sources.CHUNK_ROWS)
    rng = np.random.default_rng(seed)
    columns, sample, keys = None, None, None
    rows = dropped = 0
    chunk_rows = []
    missing, counts, summarised, continuous, ranges = {}, {}, set(), set(), {}
    for i, _, chunk in files.chunks():
        if columns is None:
            columns = list(chunk.columns)
            frames.as_frame(chunk.iloc[:0], "the training data")  # column names: unique strings
            frames.check_targets(chunk, targets)
        sources.check_columns(files.paths[i], chunk.columns, columns)
        extra = [c for c in chunk.columns if c not in set(columns)]
        if extra:
            raise DataError(f"File '{files.paths[i]}' has column(s) {extra} that '{files.paths[0]}' lacks. Every "
                            f"file needs the same columns; drop them or add them to every file.")
        known = chunk[targets].notna().all(axis=1).to_numpy()
        dropped += int((~known).sum())
        chunk = chunk.loc[known]
        rows += len(chunk)
        while len(chunk_rows) <= i:
            chunk_rows.append([])
        chunk_rows[i].append(len(chunk))
        for name in columns:
            series = chunk[name]
            missing[name] = missing.get(name, 0) + int(series.isna().sum())
            _widen_range(ranges, name, series)
            if name in continuous:
                continue
            if containers_held(series):
                # Lists and records cannot be counted; the sample's inference names the column and the fix, unless
                # the column is left out.
                continuous.add(name)
                counts.pop(name, None)
                continue
            if name not in categorical and name not in targets and _fractional(series):
                continuous.add(name)  # a column of non-whole numbers is never categorical
                counts.pop(name, None)
                continue
            counts[name], was_summarised = _merge_counts(counts.get(name), series.value_counts(sort=False))
            if was_summarised:
                summarised.add(name)
        sample, keys = _sample_rows(sample, keys, chunk, rng)
    if columns is None or rows == 0:
        raise DataError(f"The files {[str(p) for p in files.paths[:3]]} hold no row with a target value: there is "
                        f"nothing to learn from.")
    if dropped:
        frames.warn_dropped(dropped, rows + dropped, targets)
    files = dataclasses.replace(files, rows=rows, chunk_rows=chunk_rows)
    return FileSummary(files, sample.reset_index(drop=True), missing, counts, summarised, ranges)


def _widen_range(ranges, name, series):
    """Widen `ranges[name]` to the finite values of a chunk of a column stored as numbers (0/1 flags excepted)."""
    if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        return
    values = series.to_numpy(dtype="float64", na_value=np.nan)
    values = values[np.isfinite(values)]
    if not len(values):
        return
    low, high = float(values.min()), float(values.max())
    if name in ranges:
        low, high = min(low, ranges[name][0]), max(high, ranges[name][1])
    ranges[name] = (low, high)


def _fractional(series):
    if not pd.api.types.is_float_dtype(series.dtype):
        return False
    values = series.to_numpy(dtype="float64", na_value=np.nan)
    values = values[np.isfinite(values)]
    return bool(len(values)) and not np.all(values == np.round(values))


def _merge_counts(running, chunk_counts):
    """Add a chunk's value counts; beyond `COUNTED_VALUES` distinct values, keep a Misra-Gries summary.

    The summary subtracts the (k+1)-th largest count from every count and drops those left at zero or below: every
    value seen in more than rows / (k + 1) rows stays, its count low by at most that much (Agarwal et al. 2012,
    "Mergeable summaries").
    """
    merged = chunk_counts if running is None else running.add(chunk_counts, fill_value=0)
    if len(merged) <= COUNTED_VALUES:
        return merged, False
    cut = merged.nlargest(COUNTED_VALUES + 1).iloc[-1]
    return merged[merged > cut] - cut, True


def _sample_rows(sample, keys, chunk, rng):
    """A uniform sample without replacement: the SAMPLE_ROWS rows with the smallest random keys seen so far."""
    chunk_keys = rng.random(len(chunk))
    if sample is not None and len(sample) >= SAMPLE_ROWS:
        threshold = keys.max()
        keep = chunk_keys < threshold
        chunk, chunk_keys = chunk.loc[keep], chunk_keys[keep]
    if sample is None:
        sample, keys = chunk, chunk_keys
    elif len(chunk):
        sample, keys = pd.concat([sample, chunk], ignore_index=True), np.concatenate([keys, chunk_keys])
    if len(sample) > SAMPLE_ROWS:
        order = np.argpartition(keys, SAMPLE_ROWS - 1)[:SAMPLE_ROWS]
        sample, keys = sample.iloc[order].reset_index(drop=True), keys[order]
    return sample, keys


def _corrected_profile(profile, summary, note_sample=False):
    changes = {"rows": summary.rows, "missing": summary.missing.get(profile.name, 0)}
    if profile.name in summary.counts and profile.name not in summary.summarised:
        changes["n_unique"] = int(len(summary.counts[profile.name]))
    if note_sample and len(summary.sample) < summary.rows and not profile.forced:
        changes["reason"] = (f"{profile.reason} (in a uniform sample of {len(summary.sample):,} of "
                             f"{summary.rows:,} rows)")
    return dataclasses.replace(profile, **changes)


def correct_inputs(inputs, ignored, summary):
    """The input columns learned from the sample, with their profiles and states corrected by the counts over
    every row: new ({name: ColumnSpec} used, {name: ColumnSpec} set aside)."""
    corrected = {}
    for name, spec in inputs.items():
        profile = _corrected_profile(spec.profile, summary, note_sample=True)
        state = spec.encoder.state_from_summary(spec.state, spec.settings, profile, summary.counts.get(name),
                                                summary.missing.get(name, 0), summary.ranges.get(name))
        corrected[name] = dataclasses.replace(spec, profile=profile, state=state)
    set_aside = {name: dataclasses.replace(spec, profile=_corrected_profile(spec.profile, summary))
                 for name, spec in ignored.items()}
    return corrected, set_aside


def correct_targets(targets, summary):
    """The targets learned from the sample, their classes taken from the counts over every row: new specs."""
    corrected = {}
    for name, target in targets.items():
        profile = dataclasses.replace(target.profile, rows=summary.rows)
        if target.predicts_label_sets and name in summary.counts and name not in summary.summarised:
            # The labels of every row's set, from the counts of the column's distinct values.
            distinct = pd.Series(list(summary.counts[name].index), dtype=object, name=name)
            state = target.encoder.fit_target(distinct, profile, target.settings)
            corrected[name] = dataclasses.replace(target, profile=profile, state=state)
            continue
        if not target.predicts_classes:
            corrected[name] = dataclasses.replace(target, profile=profile)
            continue
        if name in summary.summarised:
            raise DataError(f"Target '{name}' has more than {COUNTED_VALUES:,} distinct values; as classes that "
                            f"is too many to learn. If it is a number, force it: column_types={{'{name}': "
                            f"'numerical'}}.")
        distinct = pd.Series(list(summary.counts[name].index), dtype=object)
        if "categories" in target.state and set(distinct) <= set(target.state["categories"]):
            # The sample's category dtype, kept when every file's classes are among its categories.
            distinct = pd.Series(pd.Categorical(distinct, categories=target.state["categories"],
                                                ordered=target.state["ordered"]))
        profile = dataclasses.replace(profile, n_unique=len(distinct))
        state = target.encoder.count_target(target.encoder.fit_target(distinct, profile, target.settings),
                                            summary.counts[name])
        corrected[name] = dataclasses.replace(target, profile=profile, state=state)
    return corrected
