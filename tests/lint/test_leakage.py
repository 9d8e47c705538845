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
