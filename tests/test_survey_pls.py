"""helpers.survey.pls: PLS path modelling against R plspm (bank satisfaction) and seminr (ECSI
mobile), parameter recovery on simulated data, the model checks, the bootstrap, index scores.

Reference numbers: R plspm and seminr outputs stored as fixtures in the public repository
GoogleCloudPlatform/plspm-python (tests/data/satisfaction.*.csv, seminr-mobi-basic-*.csv), see
data/survey/SOURCES.md."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bank_model import BANK_BLOCKS, BANK_PATHS
from helpers.survey.pls import DEFAULT_PATHS, PLSPathModel, PLSSummary, simulate_index_survey

DATA = Path(__file__).resolve().parents[1] / "data" / "survey"
TOL = 1e-5

# R plspm, centroid scheme, scaled=FALSE (satisfaction.effects.csv / inner-summary / unidim)
BANK_PATH_COEFS = {
    ("IMAG", "EXPE"): 0.578959, ("EXPE", "QUAL"): 0.848344, ("EXPE", "VAL"): 0.105478, ("QUAL", "VAL"): 0.676656,
    ("IMAG", "SAT"): 0.200724, ("EXPE", "SAT"): -0.002754, ("QUAL", "SAT"): 0.122145, ("VAL", "SAT"): 0.589331,
    ("IMAG", "LOY"): 0.275150, ("SAT", "LOY"): 0.495479,
}  # fmt: skip
BANK_R2 = {"EXPE": 0.335194, "QUAL": 0.719688, "VAL": 0.590084, "SAT": 0.707321, "LOY": 0.509923}
BANK_RELIABILITY = {  # alpha (standardised), Dillon-Goldstein rho, AVE
    "IMAG": (0.830227, 0.882203, 0.582269), "EXPE": (0.846584, 0.890855, 0.616420),
    "QUAL": (0.871325, 0.906900, 0.658572), "VAL": (0.835723, 0.890444, 0.664416),
    "SAT": (0.894011, 0.926701, 0.758891), "LOY": (0.819422, 0.881371, 0.639052),
}  # fmt: skip
# satisfaction.outer-model.csv (weight, loading) and satisfaction.crossloadings.csv
BANK_OUTER = {
    "imag1": (0.0982418501741741, 0.70932650116601), "imag4": (0.0765758587028763, 0.569193430203468),
    "expe2": (0.140693124381936, 0.837418997567575), "qual5": (0.115707870129084, 0.807446541109636),
    "val3": (0.1207889525664, 0.750064674608617), "sat1": (0.166366549374147, 0.919797990928334),
    "loy2": (0.081728096069474, 0.671101376778201), "loy4": (0.0806690862675395, 0.681874238346727),
}  # fmt: skip
BANK_CROSS = {("imag2", "SAT"): 0.597195906693405, ("qual4", "LOY"): 0.604012004213568,
              ("val1", "QUAL"): 0.713267879707797, ("loy3", "IMAG"): 0.572423528426148}  # fmt: skip
# satisfaction.scores.csv, first two respondents
BANK_SCORES = [
    [-0.0644826660498366, 0.344243348409205, -0.525400836444686, -0.0710396907420024, -0.205830238636618,
     0.166443134346823],
    [0.838587842307001, 0.797466049701047, 0.397127336690076, 0.443211488754671, 0.36908557840931, 0.492485867271411],
]  # fmt: skip

MOBI_BLOCKS = {
    "Image": [f"IMAG{i}" for i in range(1, 6)],
    "Expectation": [f"CUEX{i}" for i in range(1, 4)],
    "Quality": [f"PERQ{i}" for i in range(1, 8)],
    "Loyalty": [f"CUSL{i}" for i in range(1, 4)],
    "Complaints": ["CUSCO"],
}
MOBI_PATHS = [("Image", "Expectation"), ("Expectation", "Loyalty"), ("Quality", "Loyalty"), ("Complaints", "Loyalty")]
MOBI_PATH_COEFS = [0.512876954138615, 0.124534792831633, 0.405693671851465, 0.176081956818542]
# seminr-mobi-basic-outer-model.csv: item -> (weight, loading)
MOBI_OUTER = {
    "IMAG1": (0.289315133055235, 0.738146832100829), "IMAG2": (0.302049292567551, 0.628057636334134),
    "IMAG3": (0.239056557053925, 0.584994323749385), "IMAG4": (0.306197698970417, 0.755321624185593),
    "IMAG5": (0.307935309510133, 0.73266724244498), "CUEX1": (0.486195010983096, 0.750620088913199),
    "CUEX2": (0.561419220295048, 0.760693713932964), "CUEX3": (0.381323454524026, 0.545427204646342),
    "PERQ1": (0.407033650980277, 0.848331559563572), "PERQ2": (0.166397958325427, 0.613093727616285),
    "PERQ3": (0.38465728634974, 0.840292545241395), "PERQ4": (0.0740065406659367, 0.654863987061899),
    "PERQ5": (0.0521512126128109, 0.670785747101997), "PERQ6": (-0.0862475048715799, 0.610190554740549),
    "PERQ7": (0.247567714116287, 0.802363177633337), "CUSCO": (1.0, 1.0),
    "CUSL1": (0.455294149865501, 0.817374915589384), "CUSL2": (0.117887757261553, 0.205795369057261),
    "CUSL3": (0.658305669437138, 0.916889001865127),
}  # fmt: skip


@pytest.fixture(scope="module")
def bank() -> pd.DataFrame:
    return pd.read_csv(DATA / "bank_satisfaction.csv")


@pytest.fixture(scope="module")
def mobi() -> pd.DataFrame:
    return pd.read_csv(DATA / "ecsi_mobi.csv")


@pytest.fixture(scope="module")
def bank_model(bank) -> PLSPathModel:
    return PLSPathModel(BANK_BLOCKS, BANK_PATHS, scheme="centroid", scaled=False).fit(bank)


# ---------------------------------------------------------------------------------------------
# R plspm on the bank satisfaction data


def test_bank_paths_r2_gof_match_r_plspm(bank_model):
    m = bank_model
    assert m.converged_ and m.iterations_ == 4 and m.n_ == 250
    for (a, b), value in BANK_PATH_COEFS.items():
        assert m.path_coefficients_.loc[a, b] == pytest.approx(value, abs=TOL), (a, b)
    assert m.path_coefficients_.loc["LOY", "IMAG"] == 0.0  # rows = from, columns = to
    assert m.r2_.to_dict() == pytest.approx(BANK_R2, abs=TOL)
    assert list(m.r2_.index) == ["EXPE", "QUAL", "VAL", "SAT", "LOY"]
    assert m.gof_ == pytest.approx(0.609742, abs=TOL)
    assert m.total_effects_.loc["IMAG", "SAT"] == pytest.approx(0.490971, abs=TOL)
    assert m.total_effects_.loc["QUAL", "SAT"] == pytest.approx(0.520918, abs=TOL)
    assert m.indirect_effects_.loc["IMAG", "LOY"] == pytest.approx(0.243266046562688, abs=TOL)
    assert m.indirect_effects_.loc["IMAG", "EXPE"] == pytest.approx(0.0, abs=1e-12)


def test_bank_reliability_matches_r_plspm(bank_model):
    rel = bank_model.reliability_
    for c, (alpha, rho, ave) in BANK_RELIABILITY.items():
        assert rel.loc[c, "alpha"] == pytest.approx(alpha, abs=TOL), c
        assert rel.loc[c, "rho_dg"] == pytest.approx(rho, abs=TOL), c
        assert rel.loc[c, "ave"] == pytest.approx(ave, abs=TOL), c
    assert rel.loc["IMAG", "eig_1st"] == pytest.approx(3.01780990053354, abs=TOL)
    assert rel.loc["IMAG", "eig_2nd"] == pytest.approx(0.777635750863909, abs=TOL)
    # composite reliability from the PLS loadings, by hand
    lam = bank_model.loadings_[BANK_BLOCKS["SAT"]].to_numpy()
    assert rel.loc["SAT", "rho_c"] == pytest.approx(lam.sum() ** 2 / (lam.sum() ** 2 + (1 - lam**2).sum()))


def test_bank_weights_loadings_cross_loadings_scores_match_r_plspm(bank_model):
    m = bank_model
    for item, (w, lam) in BANK_OUTER.items():
        assert m.outer_weights_[item] == pytest.approx(w, abs=TOL), item
        assert m.loadings_[item] == pytest.approx(lam, abs=TOL), item
    for (item, c), value in BANK_CROSS.items():
        assert m.cross_loadings_.loc[item, c] == pytest.approx(value, abs=TOL)
    np.testing.assert_allclose(m.scores_.iloc[:2].to_numpy(), BANK_SCORES, atol=TOL)
    assert m.scores_.std(ddof=0).to_numpy() == pytest.approx(np.ones(6))  # population variance 1


@pytest.mark.parametrize(
    ("scheme", "expected"),
    [  # satisfaction.outer-model-factorial.csv / -path.csv: item -> (weight, loading)
        ("factorial", {"imag1": (0.0982545375897477, 0.709579562555722), "val2": (0.118244094401818, 0.796730006569803),
                       "sat4": (0.131824636097498, 0.817325794633066),
                       "loy4": (0.0802887089500578, 0.681305477044771)}),
        ("path", {"imag1": (0.0982374837495072, 0.70955076789416), "val2": (0.121254528616825, 0.799328099439193),
                  "sat4": (0.135884589449262, 0.82088699490331), "loy4": (0.0786269581935837, 0.678814311108138)}),
    ],
)  # fmt: skip
def test_bank_factorial_and_path_schemes_match_r_plspm(bank, scheme, expected):
    m = PLSPathModel(BANK_BLOCKS, BANK_PATHS, scheme=scheme, scaled=False).fit(bank)
    for item, (w, lam) in expected.items():
        assert m.outer_weights_[item] == pytest.approx(w, abs=TOL), item
        assert m.loadings_[item] == pytest.approx(lam, abs=TOL), item


def test_bank_all_formative_matches_r_plspm(bank):
    m = PLSPathModel(BANK_BLOCKS, BANK_PATHS, modes=dict.fromkeys(BANK_BLOCKS, "B"), scheme="centroid", scaled=False)
    m.fit(bank)
    # satisfaction.modeb.inner-summary.csv: R² and block communality
    r2 = [0.372046006581529, 0.722837619445379, 0.614360808369793, 0.732183693952877, 0.539969047981518]
    communality = [
        0.532480143903468,
        0.60484775361322,
        0.657778609805617,
        0.637277128517747,
        0.73353650551065,
        0.578474667245272,
    ]
    np.testing.assert_allclose(m.r2_.to_numpy(), r2, atol=TOL)
    np.testing.assert_allclose(m.reliability_["ave"].to_numpy(), communality, atol=TOL)
    assert m.reliability_["alpha"].isna().all()


def test_summary_has_every_table(bank_model):
    s = bank_model.summary()
    assert isinstance(s, PLSSummary)
    expected = ["overview", "weights", "loadings", "cross_loadings", "paths", "r2", "effects", "reliability"]
    assert list(s)[: len(expected)] == expected and {"htmt", "fornell_larcker"} <= set(s)
    assert len(s["paths"]) == 10 and s["paths"].iloc[0].to_dict()["from"] == "IMAG"
    eff = s["effects"].set_index(["from", "to"])
    assert eff.loc[("EXPE", "LOY"), "direct"] == 0 and eff.loc[("EXPE", "LOY"), "total"] == pytest.approx(
        0.248396, abs=TOL
    )
    assert "GoF" in str(s) and "Fornell larcker" in str(s)


# ---------------------------------------------------------------------------------------------
# seminr on the ECSI mobile data: path scheme, standardised, Quality formative


def test_mobi_matches_seminr(mobi):
    # seminr stops when the weights change by < 1e-7 in sum; a tight tol reaches its fixed point
    m = PLSPathModel(MOBI_BLOCKS, MOBI_PATHS, modes={"Quality": "B"}, scheme="path", scaled=True, tol=1e-12).fit(mobi)
    assert m.converged_
    got = [m.path_coefficients_.loc[a, b] for a, b in MOBI_PATHS]
    np.testing.assert_allclose(got, MOBI_PATH_COEFS, atol=TOL)
    for item, (w, lam) in MOBI_OUTER.items():
        assert m.outer_weights_[item] == pytest.approx(w, abs=TOL), item
        assert m.loadings_[item] == pytest.approx(lam, abs=TOL), item
    rel = m.reliability_
    assert np.isnan(rel.loc["Quality", "alpha"]) and rel.loc["Complaints", "alpha"] == 1.0


# ---------------------------------------------------------------------------------------------
# parameter recovery


def test_recovers_simulated_paths_and_loadings():
    sim = simulate_index_survey(20_000, seed=11, scale=None, loading=0.9, items=6)
    m = PLSPathModel(sim.truth["blocks"], list(DEFAULT_PATHS)).fit(sim.frame)
    # PLS-PM is consistent only "at large": with six items of loading 0.9 (composite reliability
    # about 0.96) paths come within 0.04 and loadings within 0.04 of the truth
    for (a, b), beta in DEFAULT_PATHS.items():
        assert m.path_coefficients_.loc[a, b] == pytest.approx(beta, abs=0.04), (a, b)
    assert np.abs(m.loadings_.to_numpy() - 0.9).max() < 0.04
    assert sim.truth["paths"]["IMAG->EXPE"] == 0.55 and sim.frame.shape == (20_000, 37)


def test_simulator_puts_items_on_the_scale_and_blanks_answers():
    sim = simulate_index_survey(500, seed=2, scale=(1, 10), missing=0.05)
    items = sim.frame.drop(columns="respondent_id")
    assert items.min().min() >= 1 and items.max().max() <= 10
    assert 0.03 < items.isna().mean().mean() < 0.07
    again = simulate_index_survey(500, seed=2, scale=(1, 10), missing=0.05)
    pd.testing.assert_frame_equal(sim.frame, again.frame)


# ---------------------------------------------------------------------------------------------
# checks of the specification and the data


@pytest.mark.parametrize(
    ("blocks", "paths", "message"),
    [
        ({"A": ["a1", "a2"], "B": ["a2", "b1"]}, [("A", "B")], "'a2' is listed in blocks 'A' and 'B'"),
        ({"A": ["a1"], "B": []}, [("A", "B")], "Construct 'B' has no items"),
        ({"A": ["a1"], "B": ["b1"]}, [("A", "Z")], "goes to 'Z', which is not a construct"),
        ({"A": ["a1"], "B": ["b1"]}, [("Q", "B")], "goes from 'Q', which is not a construct"),
        ({"A": ["a1"], "B": ["b1"], "C": ["c1"]}, [("A", "B"), ("B", "C"), ("C", "A")], "cycle: A -> B -> C -> A"),
        ({"A": ["a1"], "B": ["b1"]}, [("A", "A"), ("A", "B")], "cycle: A -> A"),
        ({"A": ["a1"], "B": ["b1"], "C": ["c1"]}, [("A", "B")], "Construct 'C' has no path"),
        ({"A": ["a1"], "B": ["b1"]}, [("A", "B"), ("A", "B")], "listed twice"),
    ],
)
def test_bad_specifications_are_refused_with_names(blocks, paths, message):
    frame = pd.DataFrame({c: [1.0, 2.0, 3.0, 5.0] for c in ["a1", "a2", "b1", "c1"]})
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        PLSPathModel(blocks, paths).fit(frame)


def test_bad_data_is_refused_with_names(bank):
    with pytest.raises(ValueError, match="Item column 'imag9' of construct 'IMAG' is not in the data"):
        PLSPathModel({**BANK_BLOCKS, "IMAG": ["imag1", "imag9"]}, BANK_PATHS).fit(bank)
    flat = bank.assign(val2=7)
    with pytest.raises(ValueError, match="Item 'val2' of construct 'VAL' has no variance"):
        PLSPathModel(BANK_BLOCKS, BANK_PATHS).fit(flat)
    with pytest.raises(ValueError, match="Item column 'gender' of construct 'LOY' must hold numbers"):
        PLSPathModel({**BANK_BLOCKS, "LOY": ["loy1", "gender"]}, BANK_PATHS).fit(bank)
    with pytest.raises(ValueError, match="mode of construct 'SAT'"):
        PLSPathModel(BANK_BLOCKS, BANK_PATHS, modes={"SAT": "C"}).fit(bank)
    with pytest.raises(ValueError, match="scheme must be one of"):
        PLSPathModel(BANK_BLOCKS, BANK_PATHS, scheme="pathway").fit(bank)


def test_non_convergence_is_a_note_not_an_error(bank):
    m = PLSPathModel(BANK_BLOCKS, BANK_PATHS, scheme="centroid", tol=1e-30, max_iter=2).fit(bank)
    assert m.converged_ is False and m.iterations_ == 2
    assert "did not converge within 2 iterations" in m.note_
    assert np.isfinite(m.path_coefficients_.to_numpy()).all()


def test_missing_mean_and_listwise(bank):
    holes = bank.copy()
    holes.loc[[3, 10, 10], "imag2"] = np.nan
    holes.loc[[10, 40], "sat3"] = np.nan  # respondents 3, 10 and 40 miss something (4 cells)
    mean = PLSPathModel(BANK_BLOCKS, BANK_PATHS, missing="mean").fit(holes)
    assert (mean.n_, mean.n_imputed_, mean.n_dropped_) == (250, 4, 0)
    by_hand = holes.fillna({c: holes[c].mean() for c in ["imag2", "sat3"]})
    same = PLSPathModel(BANK_BLOCKS, BANK_PATHS).fit(by_hand)
    np.testing.assert_allclose(mean.path_coefficients_, same.path_coefficients_, atol=1e-12)

    listwise = PLSPathModel(BANK_BLOCKS, BANK_PATHS, missing="listwise").fit(holes)
    assert (listwise.n_, listwise.n_dropped_, listwise.n_imputed_) == (247, 3, 0)
    assert 3 not in listwise.scores_.index and 4 in listwise.scores_.index
    dropped = PLSPathModel(BANK_BLOCKS, BANK_PATHS).fit(holes.dropna(subset=["imag2", "sat3"]))
    np.testing.assert_allclose(listwise.path_coefficients_, dropped.path_coefficients_, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# HTMT and Fornell-Larcker by hand


def test_htmt_and_fornell_larcker_by_hand():
    rng = np.random.default_rng(4)
    f = rng.standard_normal((400, 2)) @ np.array([[1.0, 0.5], [0.0, 0.8]])
    frame = pd.DataFrame(
        {
            "a1": f[:, 0] + 0.6 * rng.standard_normal(400),
            "a2": f[:, 0] + 0.8 * rng.standard_normal(400),
            "b1": f[:, 1] + 0.5 * rng.standard_normal(400),
            "b2": f[:, 1] + 0.7 * rng.standard_normal(400),
            "b3": f[:, 1] + 0.9 * rng.standard_normal(400),
        }
    )
    m = PLSPathModel({"A": ["a1", "a2"], "B": ["b1", "b2", "b3"]}, [("A", "B")]).fit(frame)
    r = frame.corr().to_numpy()
    hetero = r[:2, 2:].mean()
    mono_a, mono_b = r[0, 1], (r[2, 3] + r[2, 4] + r[3, 4]) / 3
    assert m.htmt_.loc["A", "B"] == pytest.approx(hetero / np.sqrt(mono_a * mono_b), abs=1e-12)
    assert m.htmt_.loc["B", "A"] == m.htmt_.loc["A", "B"] and np.isnan(m.htmt_.loc["A", "A"])
    fl = m.fornell_larcker_
    assert fl.loc["A", "A"] == pytest.approx(np.sqrt(np.mean(m.loadings_[["a1", "a2"]] ** 2)), abs=1e-12)
    assert fl.loc["A", "B"] == pytest.approx(np.corrcoef(m.scores_["A"], m.scores_["B"])[0, 1], abs=1e-12)
    # one path: the path coefficient is the construct correlation, R² its square
    assert m.path_coefficients_.loc["A", "B"] == pytest.approx(fl.loc["A", "B"], abs=1e-12)
    assert m.r2_["B"] == pytest.approx(fl.loc["A", "B"] ** 2, abs=1e-12)


# ---------------------------------------------------------------------------------------------
# bootstrap


def test_bootstrap_is_reproducible_whatever_n_jobs(bank_model):
    one = bank_model.bootstrap(n=24, seed=7, n_jobs=1)
    two = bank_model.bootstrap(n=24, seed=7, n_jobs=2)
    again = bank_model.bootstrap(n=24, seed=7, n_jobs=1)
    other = bank_model.bootstrap(n=24, seed=8, n_jobs=1)
    assert two.n_jobs == 2 and one.n_failed == 0 and one.draws.shape[0] == 24
    pd.testing.assert_frame_equal(one.draws, two.draws)
    pd.testing.assert_frame_equal(one.paths, again.paths)
    assert not np.allclose(one.paths["se"], other.paths["se"])
    assert bank_model.bootstrap_ is other


def test_bootstrap_tables_are_consistent(bank_model):
    boot = bank_model.bootstrap(n=200, seed=3, n_jobs=1)
    paths = boot.paths.set_index(["from", "to"])
    draws = boot.draws["path:VAL->SAT"]
    assert paths.loc[("VAL", "SAT"), "estimate"] == pytest.approx(0.589331, abs=TOL)
    assert paths.loc[("VAL", "SAT"), "se"] == pytest.approx(draws.std(ddof=1))
    assert paths.loc[("VAL", "SAT"), "t"] == pytest.approx(0.589330650016017 / draws.std(ddof=1))
    assert paths.loc[("VAL", "SAT"), "ci_low"] == pytest.approx(np.quantile(draws, 0.025))
    assert (boot.paths["ci_low"] <= boot.paths["estimate"]).all() and (
        boot.paths["estimate"] <= boot.paths["ci_high"]
    ).all()
    # same order of magnitude as R plspm's bootstrap (its own resamples: not reproducible exactly)
    r_se = {("IMAG", "EXPE"): 0.0571, ("EXPE", "QUAL"): 0.0245, ("VAL", "SAT"): 0.0865, ("SAT", "LOY"): 0.0822}
    for key, se in r_se.items():
        assert 0.6 * se < paths.loc[key, "se"] < 1.5 * se, key
    assert set(boot.loadings.columns) >= {"construct", "item", "estimate", "se", "t", "ci_low", "ci_high"}
    assert len(boot.total_effects) == 15 and len(boot.r2) == 5
    s = bank_model.summary()
    assert {"se", "t", "ci_low", "ci_high"} <= set(s["paths"].columns) and "se" in s["effects"].columns


# ---------------------------------------------------------------------------------------------
# index scores, group means, importance-performance


def test_index_of_a_one_item_block_is_the_rescaled_answer(mobi):
    m = PLSPathModel(MOBI_BLOCKS, MOBI_PATHS, modes={"Quality": "B"}).fit(mobi)
    idx = m.index_scores(scale=(1, 10))
    np.testing.assert_allclose(idx["Complaints"], (mobi["CUSCO"] - 1) / 9 * 100, atol=1e-10)
    assert idx.attrs["scale"]["Image"] == (1.0, 10.0)
    # a multi-item block: the weights moved to the items' scale (w / sd), normalised to sum 1
    items = MOBI_BLOCKS["Image"]
    w = m.outer_weights_[items] / m.item_sds_[items]
    w = w / w.sum()
    np.testing.assert_allclose(idx["Image"], ((mobi[items] - 1) / 9 * 100) @ w.to_numpy(), atol=1e-10)
    # the default scale is the observed range of the block
    observed = m.index_scores()
    lo, hi = mobi[items].min().min(), mobi[items].max().max()
    assert observed.attrs["scale"]["Image"] == (lo, hi)
    # a linear function of the construct score
    assert np.corrcoef(idx["Image"], m.scores_["Image"])[0, 1] == pytest.approx(1.0, abs=1e-12)


def test_index_means_by_group_with_t_intervals(bank_model, bank):
    means = bank_model.index_means(groups=bank["gender"], scale=(0, 10))
    assert list(means.columns) == ["gender", "construct", "n", "mean", "sd", "se", "ci_low", "ci_high"]
    assert len(means) == 12 and list(means["construct"][:6]) == list(BANK_BLOCKS)
    row = means[(means["gender"] == "male") & (means["construct"] == "SAT")].iloc[0]
    sat = bank_model.index_scores(scale=(0, 10))["SAT"][bank["gender"] == "male"]
    half = stats.t.ppf(0.975, len(sat) - 1) * sat.std(ddof=1) / np.sqrt(len(sat))
    assert row["n"] == 102 and row["mean"] == pytest.approx(sat.mean())
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((sat.mean() - half, sat.mean() + half))
    overall = bank_model.index_means(scale=(0, 10))
    assert overall.columns[0] == "construct" and (overall["n"] == 250).all()
    with pytest.raises(ValueError, match="give one per row"):
        bank_model.index_means(groups=bank["gender"].iloc[:10])


def test_importance_performance_map(bank_model):
    ipma = bank_model.importance_performance("SAT", scale=(0, 10))
    assert set(ipma["construct"]) == {"IMAG", "EXPE", "QUAL", "VAL"}
    row = ipma.set_index("construct").loc["QUAL"]
    assert row["importance"] == pytest.approx(0.520918, abs=TOL)
    assert row["performance"] == pytest.approx(bank_model.index_scores(scale=(0, 10))["QUAL"].mean())
    assert ipma["importance"].is_monotonic_decreasing
    assert set(ipma["quadrant"]) <= {"Fix first", "Keep it up", "Low priority", "Possible overkill"}
    assert ipma.attrs["target"] == "SAT"
    with pytest.raises(ValueError, match="No construct has a path leading to 'IMAG'"):
        bank_model.importance_performance("IMAG")
