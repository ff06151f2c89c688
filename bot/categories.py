"""arXiv's category taxonomy (https://arxiv.org/category_taxonomy): codes, names, look-ups."""

from __future__ import annotations

import difflib
import re

TAXONOMY_URL = "https://arxiv.org/category_taxonomy"

CATEGORIES: dict[str, str] = {
    # Computer Science
    "cs.AI": "Artificial Intelligence",
    "cs.AR": "Hardware Architecture",
    "cs.CC": "Computational Complexity",
    "cs.CE": "Computational Engineering, Finance, and Science",
    "cs.CG": "Computational Geometry",
    "cs.CL": "Computation and Language",
    "cs.CR": "Cryptography and Security",
    "cs.CV": "Computer Vision and Pattern Recognition",
    "cs.CY": "Computers and Society",
    "cs.DB": "Databases",
    "cs.DC": "Distributed, Parallel, and Cluster Computing",
    "cs.DL": "Digital Libraries",
    "cs.DM": "Discrete Mathematics",
    "cs.DS": "Data Structures and Algorithms",
    "cs.ET": "Emerging Technologies",
    "cs.FL": "Formal Languages and Automata Theory",
    "cs.GL": "General Literature",
    "cs.GR": "Graphics",
    "cs.GT": "Computer Science and Game Theory",
    "cs.HC": "Human-Computer Interaction",
    "cs.IR": "Information Retrieval",
    "cs.IT": "Information Theory",
    "cs.LG": "Machine Learning",
    "cs.LO": "Logic in Computer Science",
    "cs.MA": "Multiagent Systems",
    "cs.MM": "Multimedia",
    "cs.MS": "Mathematical Software",
    "cs.NA": "Numerical Analysis",
    "cs.NE": "Neural and Evolutionary Computing",
    "cs.NI": "Networking and Internet Architecture",
    "cs.OH": "Other Computer Science",
    "cs.OS": "Operating Systems",
    "cs.PF": "Performance",
    "cs.PL": "Programming Languages",
    "cs.RO": "Robotics",
    "cs.SC": "Symbolic Computation",
    "cs.SD": "Sound",
    "cs.SE": "Software Engineering",
    "cs.SI": "Social and Information Networks",
    "cs.SY": "Systems and Control",
    # Economics
    "econ.EM": "Econometrics",
    "econ.GN": "General Economics",
    "econ.TH": "Theoretical Economics",
    # Electrical Engineering and Systems Science
    "eess.AS": "Audio and Speech Processing",
    "eess.IV": "Image and Video Processing",
    "eess.SP": "Signal Processing",
    "eess.SY": "Systems and Control",
    # Mathematics
    "math.AC": "Commutative Algebra",
    "math.AG": "Algebraic Geometry",
    "math.AP": "Analysis of PDEs",
    "math.AT": "Algebraic Topology",
    "math.CA": "Classical Analysis and ODEs",
    "math.CO": "Combinatorics",
    "math.CT": "Category Theory",
    "math.CV": "Complex Variables",
    "math.DG": "Differential Geometry",
    "math.DS": "Dynamical Systems",
    "math.FA": "Functional Analysis",
    "math.GM": "General Mathematics",
    "math.GN": "General Topology",
    "math.GR": "Group Theory",
    "math.GT": "Geometric Topology",
    "math.HO": "History and Overview",
    "math.IT": "Information Theory",
    "math.KT": "K-Theory and Homology",
    "math.LO": "Logic",
    "math.MG": "Metric Geometry",
    "math.MP": "Mathematical Physics",
    "math.NA": "Numerical Analysis",
    "math.NT": "Number Theory",
    "math.OA": "Operator Algebras",
    "math.OC": "Optimization and Control",
    "math.PR": "Probability",
    "math.QA": "Quantum Algebra",
    "math.RA": "Rings and Algebras",
    "math.RT": "Representation Theory",
    "math.SG": "Symplectic Geometry",
    "math.SP": "Spectral Theory",
    "math.ST": "Statistics Theory",
    # Physics: Astrophysics
    "astro-ph.CO": "Cosmology and Nongalactic Astrophysics",
    "astro-ph.EP": "Earth and Planetary Astrophysics",
    "astro-ph.GA": "Astrophysics of Galaxies",
    "astro-ph.HE": "High Energy Astrophysical Phenomena",
    "astro-ph.IM": "Instrumentation and Methods for Astrophysics",
    "astro-ph.SR": "Solar and Stellar Astrophysics",
    # Physics: Condensed Matter
    "cond-mat.dis-nn": "Disordered Systems and Neural Networks",
    "cond-mat.mes-hall": "Mesoscale and Nanoscale Physics",
    "cond-mat.mtrl-sci": "Materials Science",
    "cond-mat.other": "Other Condensed Matter",
    "cond-mat.quant-gas": "Quantum Gases",
    "cond-mat.soft": "Soft Condensed Matter",
    "cond-mat.stat-mech": "Statistical Mechanics",
    "cond-mat.str-el": "Strongly Correlated Electrons",
    "cond-mat.supr-con": "Superconductivity",
    # Physics: archives without subject classes
    "gr-qc": "General Relativity and Quantum Cosmology",
    "hep-ex": "High Energy Physics - Experiment",
    "hep-lat": "High Energy Physics - Lattice",
    "hep-ph": "High Energy Physics - Phenomenology",
    "hep-th": "High Energy Physics - Theory",
    "math-ph": "Mathematical Physics",
    "nucl-ex": "Nuclear Experiment",
    "nucl-th": "Nuclear Theory",
    "quant-ph": "Quantum Physics",
    # Physics: Nonlinear Sciences
    "nlin.AO": "Adaptation and Self-Organizing Systems",
    "nlin.CD": "Chaotic Dynamics",
    "nlin.CG": "Cellular Automata and Lattice Gases",
    "nlin.PS": "Pattern Formation and Solitons",
    "nlin.SI": "Exactly Solvable and Integrable Systems",
    # Physics: other
    "physics.acc-ph": "Accelerator Physics",
    "physics.ao-ph": "Atmospheric and Oceanic Physics",
    "physics.app-ph": "Applied Physics",
    "physics.atm-clus": "Atomic and Molecular Clusters",
    "physics.atom-ph": "Atomic Physics",
    "physics.bio-ph": "Biological Physics",
    "physics.chem-ph": "Chemical Physics",
    "physics.class-ph": "Classical Physics",
    "physics.comp-ph": "Computational Physics",
    "physics.data-an": "Data Analysis, Statistics and Probability",
    "physics.ed-ph": "Physics Education",
    "physics.flu-dyn": "Fluid Dynamics",
    "physics.gen-ph": "General Physics",
    "physics.geo-ph": "Geophysics",
    "physics.hist-ph": "History and Philosophy of Physics",
    "physics.ins-det": "Instrumentation and Detectors",
    "physics.med-ph": "Medical Physics",
    "physics.optics": "Optics",
    "physics.plasm-ph": "Plasma Physics",
    "physics.pop-ph": "Popular Physics",
    "physics.soc-ph": "Physics and Society",
    "physics.space-ph": "Space Physics",
    # Quantitative Biology
    "q-bio.BM": "Biomolecules",
    "q-bio.CB": "Cell Behavior",
    "q-bio.GN": "Genomics",
    "q-bio.MN": "Molecular Networks",
    "q-bio.NC": "Neurons and Cognition",
    "q-bio.OT": "Other Quantitative Biology",
    "q-bio.PE": "Populations and Evolution",
    "q-bio.QM": "Quantitative Methods",
    "q-bio.SC": "Subcellular Processes",
    "q-bio.TO": "Tissues and Organs",
    # Quantitative Finance
    "q-fin.CP": "Computational Finance",
    "q-fin.EC": "Economics",
    "q-fin.GN": "General Finance",
    "q-fin.MF": "Mathematical Finance",
    "q-fin.PM": "Portfolio Management",
    "q-fin.PR": "Pricing of Securities",
    "q-fin.RM": "Risk Management",
    "q-fin.ST": "Statistical Finance",
    "q-fin.TR": "Trading and Market Microstructure",
    # Statistics
    "stat.AP": "Applications",
    "stat.CO": "Computation",
    "stat.ME": "Methodology",
    "stat.ML": "Machine Learning",
    "stat.OT": "Other Statistics",
    "stat.TH": "Statistics Theory",
}

ARCHIVES: frozenset[str] = frozenset(code.split(".")[0] for code in CATEGORIES)

_BY_LOWER: dict[str, str] = {code.lower(): code for code in CATEGORIES} | {a: a for a in ARCHIVES}


def archive_of(code: str) -> str:
    """The archive a category code belongs to (`cs.LG` -> `cs`, `hep-th` -> `hep-th`)."""
    return code.split(".")[0].lower()


def canonical_category(token: str) -> str | None:
    """The canonical spelling of a category code or bare archive (`cs.lg` -> `cs.LG`, `CS` -> `cs`), else None."""
    return _BY_LOWER.get(token.strip().lower())


def close_categories(token: str, n: int = 5) -> list[str]:
    """Up to `n` known codes resembling `token`: same subject class, then close spellings, then same archive."""
    lowered = token.strip().lower()
    subject = lowered.partition(".")[2]
    same_subject = [code for code in CATEGORIES if subject and code.lower().partition(".")[2] == subject]
    scored = sorted((-_similarity(lowered, code.lower()), code) for code in CATEGORIES)
    similar = [code for score, code in scored if -score >= 0.6]
    same_archive = [code for code in CATEGORIES if archive_of(code) == archive_of(lowered)]
    ordered = dict.fromkeys(same_subject + similar + same_archive)
    ordered.pop(canonical_category(lowered) or "", None)
    return list(ordered)[:n]


# Bare subject classes (`ml` -> stat.ML, `lg` -> cs.LG): the two-letter codes after an archive's dot.
_BY_SUBJECT: dict[str, list[str]] = {}
for _code in CATEGORIES:
    _subject = _code.partition(".")[2]
    if len(_subject) == 2 and _subject.isupper():
        _BY_SUBJECT.setdefault(_subject.lower(), []).append(_code)
# Archives as people mistype them: run together (`hepth`, `condmat`) or as an English word (`stats`, `maths`).
_MISSPELT_ARCHIVES: dict[str, str] = {a.replace("-", ""): a for a in ARCHIVES if "-" in a} | {
    "stats": "stat",
    "maths": "math",
    "phys": "physics",
    "physic": "physics",
}
_DOTTED = re.compile(r"[a-z]+(?:-[a-z]+)?\.[a-z]{2,}(?:-[a-z]+)?", re.ASCII | re.IGNORECASE)
_HYPHENED = re.compile(r"([a-z]+)-([a-z]{2})", re.ASCII | re.IGNORECASE)


def mistyped_category(term: str) -> list[str] | None:
    """For a term shaped like an arXiv category that is none, the closest real codes; None for other words.

    Shaped like a category: `word.WORD` (`stats.ML`, `foo.BAR`), an archive and a subject class joined by a
    hyphen (`cs-LG`), a bare two-letter subject class (`ml`, `LG`) or a misspelt archive (`stats`, `hepth`).
    """
    lowered = term.strip().lower()
    if canonical_category(lowered) is not None:
        return None
    hyphened = _HYPHENED.fullmatch(lowered)
    if _DOTTED.fullmatch(lowered):
        archive, _, subject = lowered.partition(".")
    elif hyphened and _archive_guess(hyphened[1]) is not None and hyphened[2] in _BY_SUBJECT:
        archive, subject = hyphened[1], hyphened[2]
    elif lowered in _BY_SUBJECT:
        return list(_BY_SUBJECT[lowered])
    elif lowered in _MISSPELT_ARCHIVES:
        return [_MISSPELT_ARCHIVES[lowered]]
    else:
        return None
    guess = f"{_archive_guess(archive) or archive}.{subject}"
    exact = canonical_category(guess)
    return [exact] if exact is not None else close_categories(guess)


def _archive_guess(word: str) -> str | None:
    """The archive a word names or misspells (`cs` -> cs, `stats` -> stat), else None."""
    return word if word in ARCHIVES else _MISSPELT_ARCHIVES.get(word)


def _similarity(a: str, b: str) -> float:
    """How alike two lower-case codes are, from 0 to 1 (difflib's ratio)."""
    return difflib.SequenceMatcher(None, a, b).ratio()


ALL_ARCHIVES = (  # every archive's feed: what a filter without categories needs
    "astro-ph",
    "cond-mat",
    "cs",
    "econ",
    "eess",
    "gr-qc",
    "hep-ex",
    "hep-lat",
    "hep-ph",
    "hep-th",
    "math",
    "math-ph",
    "nlin",
    "nucl-ex",
    "nucl-th",
    "physics",
    "q-bio",
    "q-fin",
    "quant-ph",
    "stat",
)
