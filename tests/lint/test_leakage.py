"""TW210 data-leakage and TW211 refit-at-inference."""

from __future__ import annotations

from collections.abc import Callable

Run = Callable[..., set[tuple[int, str]]]


def test_fit_before_split_and_on_held_out_data(hits: Run) -> None:
    source = """
    import pandas as pd
    from sklearn.model_selection import cross_val_score, train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import LabelEncoder, StandardScaler

    def leaky(X, y):
        X = StandardScaler().fit_transform(X)
        return train_test_split(X, y, random_state=0)

    def clean(X, y):
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0)
        scaler = StandardScaler().fit(X_tr)
        return scaler.transform(X_te)

    def on_both(train_df, test_df):
        return StandardScaler().fit(pd.concat([train_df, test_df]))

    def on_test(X_test):
        return StandardScaler().fit_transform(X_test)

    def pipeline(X, y):
        return cross_val_score(make_pipeline(StandardScaler(), model), X, y)

    def labels(y, X):
        enc = LabelEncoder().fit(y)
        return train_test_split(X, enc.transform(y), random_state=0)

    def fill(df):
        df["a"] = df["a"].fillna(df["a"].mean())
        return train_test_split(df, random_state=0)

    def cluster(X):
        return StandardScaler().fit_transform(X)
    """
    assert hits(source, codes={"TW210"}) == {
        (8, "TW210"),
        (17, "TW210"),
        (20, "TW210"),
        (30, "TW210"),
    }


def test_leak_through_a_helper_that_the_caller_splits(hits: Run) -> None:
    source = """
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    def features(df):
        scaled = StandardScaler().fit_transform(df)
        return scaled

    def main(df, y):
        X = features(df)
        return train_test_split(X, y, random_state=0)
    """
    assert hits(source, codes={"TW210"}) == {(6, "TW210")}


def test_same_file_split_helpers(hits: Run) -> None:
    source = """
    import pandas as pd
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    def temporal_split(df, cutoff):
        return df[df["date"] < cutoff], df[df["date"] >= cutoff]

    def head_tail(frame, n):
        first = frame.iloc[:n].copy()
        rest = frame.iloc[n:]
        return first, rest

    def wrapped(data):
        return train_test_split(data, random_state=0)

    def split_xy(df):
        return df.drop(columns=["y"]), df["y"]

    def leaky(df, cutoff):
        df["a"] = df["a"].fillna(df["a"].mean())
        scaler = StandardScaler().fit(df)
        return temporal_split(df, cutoff), scaler

    def leaky_iloc(df):
        scaler = StandardScaler().fit(df)
        return head_tail(df, 100), scaler

    def leaky_wrapped(df):
        scaler = StandardScaler().fit(df)
        return wrapped(df), scaler

    def not_a_row_split(df):
        scaler = StandardScaler().fit(df)
        return split_xy(df), scaler

    def clean(df, cutoff):
        train, valid = temporal_split(df, cutoff)
        return StandardScaler().fit(train.fillna(train.mean()))
    """
    assert hits(source, codes={"TW210"}) == {
        (21, "TW210"),
        (22, "TW210"),
        (26, "TW210"),
        (30, "TW210"),
    }


def test_fit_in_a_helper_on_data_the_caller_splits(hits: Run) -> None:
    source = """
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import LabelEncoder, StandardScaler

    def fit_scaler(frame):
        return StandardScaler().fit(frame)

    def fill(frame):
        frame["a"] = frame["a"].fillna(frame["a"].mean())

    def encode_labels(y):
        label_encoder = LabelEncoder()
        return label_encoder.fit_transform(y)

    def leaky(df, y):
        scaler = fit_scaler(df)
        fill(df)
        encode_labels(y)
        return train_test_split(df, y, random_state=0), scaler

    def clean(df, y):
        X_tr, X_te, y_tr, y_te = train_test_split(df, y, random_state=0)
        return fit_scaler(X_tr)
    """
    assert hits(source, codes={"TW210"}) == {(6, "TW210"), (9, "TW210")}


def test_refit_at_inference(hits: Run) -> None:
    source = """
    import joblib
    from sklearn.preprocessing import StandardScaler

    class ChurnPredictor:
        def __init__(self, path):
            self.scaler = joblib.load(path)

        def predict(self, X):
            return self.model.predict(self.scaler.fit_transform(X))

        def predict_ok(self, X):
            return self.model.predict(self.scaler.transform(X))

    @app.post("/score")
    def handler(rows):
        return StandardScaler().fit_transform(rows)

    def train(X):
        return StandardScaler().fit(X)
    """
    assert hits(source, codes={"TW211"}) == {(10, "TW211"), (17, "TW211")}


def test_refit_at_inference_forecasts_and_bundles(hits: Run) -> None:
    source = """
    import joblib
    from sklearn.model_selection import KFold
    from sklearn.preprocessing import TargetEncoder

    def forecast(history, path):
        bundle = joblib.load(path)
        X = bundle["imputer"].fit_transform(history)
        X = bundle["scaler"].transform(X)
        return bundle["model"].predict(X)

    def oof_predictions(X, y, model):
        for tr, va in KFold(n_splits=5).split(X):
            enc = TargetEncoder()
            X_tr = enc.fit_transform(X.iloc[tr], y[tr])
            model.fit(X_tr, y[tr])

    def train_forecaster(X, y):
        return TargetEncoder().fit(X, y)

    def predict_refit(X, artifacts):
        return artifacts["encoder"].fit(X).transform(X)
    """
    assert hits(source, codes={"TW211"}) == {(8, "TW211"), (22, "TW211")}


def test_target_encoding_is_label_vocabulary(hits: Run) -> None:
    source = """
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    def one_hot_targets(x, y):
        encoder = OneHotEncoder(sparse_output=False)
        y = encoder.fit_transform(y)
        return train_test_split(x, y, random_state=0)

    def scaled_targets(x, y):
        y = StandardScaler().fit_transform(y)
        return train_test_split(x, y, random_state=0)
    """
    assert hits(source, codes={"TW210"}) == {(11, "TW210")}


def test_pytest_inputs_named_test_are_not_held_out(hits: Run) -> None:
    source = """
    from sklearn.feature_extraction.text import CountVectorizer

    def test_vectorizer_max_df():
        test_data = ["abc", "dea", "eat"]
        vect = CountVectorizer(analyzer="char")
        vect.fit(test_data)

    def helper(X_test):
        return CountVectorizer().fit_transform(X_test)
    """
    assert hits(source, name="tests/test_text.py", codes={"TW210"}) == {(10, "TW210")}
    assert hits(source, name="text.py", codes={"TW210"}) == {(7, "TW210"), (10, "TW210")}
