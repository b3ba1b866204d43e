"""Dates and times: recognised in every form, read inside the model from ISO-8601 strings, served as such."""

import datetime
import json
import re
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import tensorflow as tf

from conftest import FAST, write_parts
from keras_defaults import Automater
from keras_defaults.defaults import Config
from keras_defaults.encoders.datetime import iso_strings, read_parts
from keras_defaults.errors import ConfigError, DataError
from keras_defaults.layers import parse_datetimes
from keras_defaults.profile_check import compare
from keras_defaults.schema import ISO_DATETIME, infer_column

CONFIG = Config.builtin()


def kind_of(values, name="col", forced=None):
    return infer_column(pd.Series(values), name, CONFIG.get("inference"), CONFIG.get("inputs", "boolean"), forced)


# ---------------------------------------------------------------------------------------------------- parsing
WRITTEN = ["2017-03-01", "2017-03-01T08:15", "2017-03-01 08:15:30", "2017-03-01t08:15:30.25", "2017-03-01T08:15Z",
           "2017-03-01T08:15:00+01:00", "2017-03-01T08:15:00-0530", "2017-03-01 08:15:00 +02", " 2016-02-29 ",
           "1969-12-31T23:59:59", "2038-01-19T03:14:08Z"]
NOT_DATES = ["", "garbage", "2017-02-29", "2017-13-01", "2017-03-01T25:00", "2017-3-1", "03/01/2017", "20170301",
             "2017-03-01T08:15:00+01:00:00"]


def test_the_graph_reads_iso_strings_as_pandas_does():
    fields = read_parts(np.array(WRITTEN, dtype=object))
    assert fields["valid"].all()
    for i, text in enumerate(WRITTEN):
        stamp = pd.Timestamp(text.strip())
        utc = stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp
        assert fields["seconds"][i] == int((utc.floor("s") - pd.Timestamp("1970-01-01")).total_seconds()), text
        assert (fields["year"][i], fields["month"][i], fields["day"][i]) == (stamp.year, stamp.month, stamp.day)
        assert (fields["hour"][i], fields["minute"][i]) == (stamp.hour, stamp.minute)  # wall-clock, as written
        assert fields["day_of_week"][i] == stamp.day_of_week and fields["day_of_year"][i] == stamp.day_of_year


def test_what_is_not_an_iso_date_is_missing_and_the_schema_pattern_agrees():
    assert not read_parts(np.array(NOT_DATES, dtype=object))["valid"].any()
    for text in WRITTEN:
        assert re.fullmatch(ISO_DATETIME, text.strip(), re.IGNORECASE), text
    for text in ["garbage", "2017-3-1", "03/01/2017", "20170301", "2017-03-01T08:15:00+01:00:00"]:
        assert not re.fullmatch(ISO_DATETIME, text, re.IGNORECASE), text


def test_the_layer_parses_inside_a_traced_graph():
    run = tf.function(lambda s: parse_datetimes(s)["seconds"])
    assert run(tf.constant(["1970-01-02"])).numpy().tolist() == [86400]


# ---------------------------------------------------------------------------------------------------- forms
def test_every_form_becomes_the_same_iso_strings():
    stamps = pd.Series(pd.to_datetime(["2017-03-01 08:15:00", None, "2018-12-31 23:59:00"]))
    expected = ["2017-03-01T08:15:00", "", "2018-12-31T23:59:00"]
    assert iso_strings(stamps).tolist() == expected
    assert iso_strings(stamps.astype(pd.ArrowDtype(pa.timestamp("ns")))).tolist() == expected
    assert iso_strings(pd.Series(["2017-03-01T08:15:00", None, "2018-12-31T23:59:00"])).tolist() == expected
    assert iso_strings(pd.Series([datetime.date(2017, 3, 1), None])).tolist() == ["2017-03-01", ""]
    assert iso_strings(pd.Series(pd.period_range("2017-03", periods=2, freq="M"))).tolist() == [
        "2017-03-01T00:00:00", "2017-04-01T00:00:00"]
    epoch = pd.Series([1488356100.0, np.nan])
    assert iso_strings(epoch, "s").tolist() == ["2017-03-01T08:15:00", ""]
    assert iso_strings(epoch * 1000, "ms").tolist() == ["2017-03-01T08:15:00", ""]


def test_time_zones_keep_the_wall_clock_and_the_offset():
    paris = pd.Series(pd.to_datetime(["2017-03-25 12:00", "2017-03-26 12:00"]).tz_localize("Europe/Paris"))
    written = iso_strings(paris).tolist()
    assert written == ["2017-03-25T12:00:00+01:00", "2017-03-26T12:00:00+02:00"]  # summer time starts on the 26th
    assert read_parts(np.array(written, dtype=object))["hour"].tolist() == [12, 12]
    seconds = read_parts(np.array(written, dtype=object))["seconds"]
    assert (seconds[1] - seconds[0]) == 23 * 3600  # the absolute time knows the hour that was skipped


def test_other_date_strings_are_read_by_pandas_or_left_missing():
    assert iso_strings(pd.Series(["Mar 1, 2017", "not a date", "2017-03-02"])).tolist() == [
        "2017-03-01T00:00:00", "", "2017-03-02"]


# ---------------------------------------------------------------------------------------------------- kinds
@pytest.mark.parametrize("values", [
    pd.date_range("2020-01-01", periods=40, freq="D"),
    pd.date_range("2020-01-01", periods=40, freq="h", tz="America/New_York"),
    [f"2020-01-{d:02d}" for d in range(1, 29)] * 2,
    [f"2020-01-01T{h:02d}:30:00Z" for h in range(24)] * 2,
    [datetime.date(2020, 1, d) for d in range(1, 29)],
    pd.period_range("2020-01", periods=30, freq="M"),
])
def test_dates_are_recognised_in_every_form(values):
    profile = kind_of(values)
    assert profile.kind == "datetime" and profile.input_dtype == "string"


def test_epoch_numbers_stay_numerical_unless_forced():
    seconds = np.arange(1.6e9, 1.6e9 + 40 * 86400, 86400)
    assert kind_of(seconds).kind == "numerical"
    assert kind_of(seconds, forced="datetime").kind == "datetime"


def test_durations_are_numbers_in_seconds():
    profile = kind_of(pd.to_timedelta(np.arange(1, 200), unit="min"))
    assert profile.kind == "numerical" and "duration" in profile.reason


def test_text_with_a_few_dates_is_not_a_date_column():
    assert kind_of(["2020-01-01", "soon", "later", "never"] * 10).kind == "categorical"


def test_a_constant_date_is_set_aside_with_the_right_advice(recwarn):
    from keras_defaults.schema import infer_schema

    frame = pd.DataFrame({"when": pd.to_datetime(["2020-01-01"] * 30), "x": np.arange(30.0)})
    with pytest.warns(UserWarning, match=r"column_types=\{'when': 'datetime'\}"):
        infer_schema(frame, CONFIG.get("inference"), CONFIG.get("inputs", "boolean"), {})


# ---------------------------------------------------------------------------------------------------- end to end
def dated_frame(rows=400, seed=0):
    """A target driven by the day of the week and the hour, with dates in every form and some missing."""
    rng = np.random.default_rng(seed)
    when = pd.Timestamp("2021-01-04") + pd.to_timedelta(rng.integers(0, 2 * 365 * 24, rows), unit="h")
    busy = (when.day_of_week.to_numpy() < 5) & (when.hour.to_numpy() >= 9) & (when.hour.to_numpy() < 18)
    frame = pd.DataFrame({
        "when": when,
        "when_iso": when.strftime("%Y-%m-%dT%H:%M:%S"),
        "when_tz": when.tz_localize("UTC").tz_convert("Europe/Paris"),
        "day": [stamp.date() for stamp in when],
        "wait": pd.to_timedelta(rng.integers(1, 90, rows), unit="min"),
        "x": rng.normal(size=rows),
        "busy": np.where(busy ^ (rng.random(rows) < 0.05), "yes", "no"),
    })
    frame.loc[rng.random(rows) < 0.1, "when_iso"] = None
    frame.loc[rng.random(rows) < 0.1, "when_tz"] = pd.NaT
    return frame


@pytest.fixture(scope="module")
def fitted_dates():
    data = dated_frame()
    settings = {**FAST, "training": {"epochs": 40, "batch_size": 32}, "body": {"units": [32]}}
    auto = Automater(target="busy", overrides=settings, seed=0, verbose=0).fit(data.drop(columns=["when"]))
    return auto, data.drop(columns=["when"])


def awkward_dates(data):
    rows = data.head(8).copy()
    rows["when_iso"] = ["2021-02-30", "tomorrow", "", None, "2021-03-01 08:15", "2021-03-01T08:15:00+05:00",
                        "2021-03-01", "2021-03-01t23:59:59.5Z"]
    rows.loc[rows.index[:3], "when_tz"] = pd.NaT
    return rows


def test_a_date_carries_its_signal_into_the_model(fitted_dates):
    auto, data = fitted_dates
    assert {c: auto.inputs_[c].kind for c in ("when_iso", "when_tz", "day")} == dict.fromkeys(
        ("when_iso", "when_tz", "day"), "datetime")
    assert auto.inputs_["wait"].kind == "numerical"
    held_out = dated_frame(300, seed=1).drop(columns=["when"])
    undated = Automater(target="busy", overrides=auto.overrides, seed=0, verbose=0).fit(data[["wait", "x", "busy"]])
    # The day of the week and the hour decide the target: without them, the majority class is all there is.
    assert auto.evaluate(held_out)["accuracy"] > undated.evaluate(held_out)["accuracy"] + 0.08


def test_explain_says_which_parts_were_kept_and_why(fitted_dates):
    auto, _ = fitted_dates
    rows = auto.explain().set_index("column")
    assert "hour (+sin/cos)" in rows.loc["when_iso", "choice"] and "missing flag" in rows.loc["when_iso", "choice"]
    assert "left out as constant in training: hour, minute" in rows.loc["day", "choice"]
    assert rows.loc["when_tz", "why"].startswith("dtype datetime64")


def test_unreadable_dates_are_missing_and_counted(fitted_dates):
    auto, data = fitted_dates
    with pytest.warns(UserWarning, match=r"'when_iso' is read as dates.*3 of 8 value\(s\).*do not read as dates"):
        predictions = auto.predict(awkward_dates(data))
    assert predictions.notna().all()


def test_numbers_in_a_column_trained_on_dates_are_counted_unless_they_read_as_dates(fitted_dates):
    # Nanoseconds since 1970 in a column trained on timestamps read as missing without a word: they have no unit.
    auto, data = fitted_dates
    rows = data[data["when_tz"].notna()].head(6).copy()
    stamps = pd.to_datetime(rows["when_tz"].dt.tz_convert("UTC").dt.tz_localize(None))
    rows["when_tz"] = stamps.astype("int64")
    with pytest.warns(UserWarning, match=r"'when_tz' is read as dates \(training dtype datetime64.*6 of 6 value\(s\) "
                                         r"here \(dtype int64\) do not read as dates"):
        auto.predict(rows)
    # Whole numbers in a date's form (20210104) read as that day, as their string would: no warning.
    rows["when_tz"] = stamps.dt.strftime("%Y%m%d").astype(int)
    profiles = {name: spec.profile for name, spec in auto.inputs_.items()}
    assert "when_tz" not in compare(rows, profiles, auto.targets).unreadable
    assert (read_parts(iso_strings(rows["when_tz"]))["day"] == stamps.dt.day.to_numpy()).all()


def test_the_exported_models_take_iso_strings_and_agree_with_predict_proba(fitted_dates, tmp_path):
    auto, data = fitted_dates
    rows = awkward_dates(data)
    path = auto.export(tmp_path / "serving", format="tf_saved_model")
    signature = json.loads((path / "keras_defaults_signature.json").read_text())
    served_date = signature["inputs"]["when_tz"]
    assert served_date["dtype"] == "string" and "ISO-8601" in served_date["format"]
    # Strings go in as they are (unreadable ones included); dates of other dtypes as ISO strings; numbers as floats.
    feeds = {spec["argument"]: (rows[c].tolist() if pd.api.types.infer_dtype(rows[c], skipna=True) == "string"
                                else auto.inputs_[c].values(rows).tolist())
             for c, spec in signature["inputs"].items()}
    (tmp_path / "feeds.json").write_text(json.dumps(feeds))
    code = textwrap.dedent(f"""
        import json, os, sys
        sys.modules["keras_defaults"] = None  # TensorFlow alone
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import tensorflow as tf
        signature = {signature!r}
        feeds = json.load(open({str(tmp_path / "feeds.json")!r}))
        serve = tf.saved_model.load({str(path)!r}).signatures["serving_default"]
        tensors = {{}}
        for column, spec in signature["inputs"].items():
            values = feeds[spec["argument"]]
            tensors[spec["argument"]] = (tf.constant(["" if v is None else str(v) for v in values])
                                         if spec["dtype"] == "string" else tf.constant(values, tf.float32))
        out = serve(**tensors)
        print(json.dumps(out[signature["outputs"]["busy"]["probabilities"]].numpy().tolist()))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    served = np.array(json.loads(done.stdout.strip().splitlines()[-1]))
    with pytest.warns(UserWarning):
        expected = auto.predict_proba(rows).to_numpy()
    np.testing.assert_allclose(served, expected, atol=1e-5)


def test_the_keras_file_and_a_saved_automater_reproduce_predictions(fitted_dates, tmp_path):
    import keras

    auto, data = fitted_dates
    model = keras.saving.load_model(auto.export(tmp_path / "dates.keras"))
    from keras_defaults.columns import raw_tensors

    out = model.predict(raw_tensors(data.head(20), auto.inputs_), verbose=0)
    np.testing.assert_allclose(np.asarray(out["busy"]).reshape(-1), auto.predict_proba(data.head(20))["yes"],
                               atol=1e-5)
    loaded = Automater.load(auto.save(tmp_path / "run"))
    pd.testing.assert_frame_equal(loaded.predict_proba(data), auto.predict_proba(data))
    assert loaded.explain().equals(auto.explain())


def test_dates_from_files(tmp_path):
    data = dated_frame(300).drop(columns=["when_tz", "day"])  # CSV keeps ISO strings; Parquet keeps datetime64
    write_parts(data, tmp_path / "csv", fmt="csv")
    write_parts(data, tmp_path / "parquet")
    for folder in ("csv", "parquet"):
        auto = Automater(target="busy", overrides=FAST, seed=0, verbose=0).fit(str(tmp_path / folder))
        assert auto.inputs_["when"].kind == "datetime" and auto.inputs_["when_iso"].kind == "datetime"
        assert len(auto.predict(str(tmp_path / folder))) == 300 and 0 <= auto.evaluate(data)["accuracy"] <= 1


def test_forcing_datetime_on_epoch_numbers_and_in_yaml(tmp_path):
    data = dated_frame(200)
    data["epoch_ms"] = (data["when"] - pd.Timestamp("1970-01-01")).dt.total_seconds() * 1000
    data = data[["epoch_ms", "x", "busy"]]
    auto = Automater(target="busy", column_types={"epoch_ms": "datetime"}, overrides=FAST, seed=0,
                     verbose=0).fit(data)
    assert auto.inputs_["epoch_ms"].state["epoch_unit"] == "ms"
    assert auto.inputs_["epoch_ms"].state["first"].startswith("2021-")
    yaml_forced = Automater(target="busy", overrides={**FAST, "inputs": {"datetime": {"cyclical": False}},
                                                      "columns": {"epoch_ms": {"kind": "datetime", "parts": ["hour"]}}},
                            seed=0, verbose=0).prepare(data)
    assert yaml_forced.inputs_["epoch_ms"].state["parts"] == ["hour"]
    assert "(+sin/cos)" not in yaml_forced.explain().set_index("column").loc["epoch_ms", "choice"]


def test_bad_datetime_settings_and_columns_are_refused():
    data = dated_frame(60)[["when", "x", "busy"]]
    with pytest.raises(ConfigError, match=r"Received: parts='weekday'"):
        Automater(target="busy", overrides={"inputs": {"datetime": {"parts": ["weekday"]}}}).prepare(data)
    with pytest.raises(DataError, match=r"'x' is set to kind 'datetime' but none of its values read as a date"):
        Automater(target="busy", column_types={"x": "datetime"}).prepare(data.assign(x=data["busy"]))
    with pytest.raises(DataError, match=r"Target 'when' holds dates.*cannot be predicted"):
        Automater(target="when").prepare(data)


def test_a_duration_target_is_predicted_as_a_duration():
    data = dated_frame(200)[["x", "wait"]]
    auto = Automater(target="wait", overrides=FAST, seed=0, verbose=0).fit(data)
    predicted = auto.predict(data)
    assert pd.api.types.is_timedelta64_dtype(predicted.dtype)
    assert np.isfinite(auto.evaluate(data)["rmse"])  # in seconds
