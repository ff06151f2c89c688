"""Deterministic synthetic but realistic data: a day's papers and subscribers with ML-flavoured topic filters.

Everything is drawn from `random.Random(seed)`, so the same sizes give the same data on every machine.
Popularity is skewed (Zipf-like) the way real interest is: many readers follow cs.LG or "large language
model", few follow math.KT or "optimal transport". Filters are written as users type them and parsed by
the real `parse_filter`, so they are normalised exactly as stored ones are.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

from bot.categories import CATEGORIES
from bot.filters import Filter, parse_filter
from bot.models import Paper
from bot.subscribers import ChatRef, Subscriber

SEED = 20240206
FILTERS_PER_SUBSCRIBER = 3

# The busiest categories first (roughly arXiv's daily volume and readership); the rest follow in taxonomy order.
POPULAR_CATEGORIES = (
    "cs.LG",
    "cs.CV",
    "cs.CL",
    "cs.AI",
    "stat.ML",
    "cs.RO",
    "cs.CR",
    "eess.IV",
    "cs.IR",
    "quant-ph",
    "math.OC",
    "cs.NE",
    "cs.HC",
    "eess.SP",
    "cs.SE",
    "cs.DC",
    "math.ST",
    "eess.AS",
    "cs.SD",
    "cs.MA",
    "physics.comp-ph",
    "q-bio.QM",
    "cs.SI",
    "cs.CY",
    "econ.EM",
    "hep-th",
    "astro-ph.CO",
    "cond-mat.dis-nn",
    "math.NA",
    "cs.DS",
)
ML_CATEGORIES = frozenset(POPULAR_CATEGORIES[:22])
CATEGORY_ORDER = POPULAR_CATEGORIES + tuple(c for c in CATEGORIES if c not in POPULAR_CATEGORIES)

# Keyword vocabulary, most popular first: what readers subscribe to and what abstracts talk about.
KEYWORDS = (
    "large language model",
    "diffusion",
    "transformer",
    "reinforcement learning",
    "graph neural network",
    "LLM",
    "federated learning",
    "contrastive learning",
    "benchmark",
    "uncertainty",
    "robustness",
    "in-context learning",
    "retrieval-augmented generation",
    "vision-language model",
    "fine-tuning",
    "interpretability",
    "causal inference",
    "self-supervised learning",
    "optimization",
    "quantization",
    "knowledge distillation",
    "mixture of experts",
    "hallucination",
    "alignment",
    "RLHF",
    "agent",
    "multimodal",
    "segmentation",
    "object detection",
    "point cloud",
    "NeRF",
    "gaussian splatting",
    "speech recognition",
    "machine translation",
    "question answering",
    "code generation",
    "prompt",
    "chain-of-thought",
    "reasoning",
    "pruning",
    "sparse",
    "attention",
    "state space model",
    "Mamba",
    "bayesian",
    "variational inference",
    "gaussian process",
    "kernel",
    "meta-learning",
    "continual learning",
    "domain adaptation",
    "out-of-distribution",
    "adversarial",
    "privacy",
    "differential privacy",
    "fairness",
    "explainability",
    "time series",
    "forecasting",
    "anomaly detection",
    "recommendation",
    "information retrieval",
    "knowledge graph",
    "tabular",
    "protein",
    "molecule",
    "drug discovery",
    "medical imaging",
    "climate",
    "autonomous driving",
    "robot",
    "manipulation",
    "imitation learning",
    "offline reinforcement learning",
    "multi-agent",
    "game theory",
    "bandit",
    "online learning",
    "convex",
    "stochastic gradient descent",
    "generalization",
    "scaling law",
    "emergent",
    "tokenizer",
    "embedding",
    "representation learning",
    "autoencoder",
    "GAN",
    "normalizing flow",
    "score-based",
    "flow matching",
    "video generation",
    "text-to-image",
    "image editing",
    "3D reconstruction",
    "depth estimation",
    "pose estimation",
    "tracking",
    "super-resolution",
    "denoising",
    "compression",
    "hardware",
    "FPGA",
    "edge computing",
    "energy efficiency",
    "quantum",
    "quantum machine learning",
    "physics-informed",
    "PDE",
    "neural operator",
    "symbolic regression",
    "causal discovery",
    "survival analysis",
    "active learning",
    "semi-supervised",
    "weak supervision",
    "data augmentation",
    "synthetic data",
    "dataset",
    "evaluation",
    "watermark",
    "jailbreak",
    "red teaming",
    "safety",
    "toxicity",
    "bias",
    "low-resource",
    "multilingual",
    "Chinese",
    "summarization",
    "dialogue",
    "sentiment",
    "named entity recognition",
    "parsing",
    "optimal transport",
    "topological data analysis",
    "spectral",
    "sampling",
    "Monte Carlo",
    "MCMC",
    "Langevin",
    "ODE",
    "SDE",
    "control",
    "model predictive control",
    "planning",
    "world model",
    "curriculum",
    "reward model",
    "preference optimization",
    "DPO",
    "LoRA",
    "parameter-efficient",
    "inference acceleration",
    "speculative decoding",
    "KV cache",
    "long context",
)
EXCLUSIONS = (
    "survey",
    "position paper",
    "review",
    "tutorial",
    "workshop",
    "benchmark",
    "dataset",
    "quantum",
    "medical",
    "theory",
)
FIRST_NAMES = (
    "Yoshua",
    "Geoffrey",
    "Yann",
    "Fei-Fei",
    "Andrew",
    "Demis",
    "Ilya",
    "Kaiming",
    "Jian",
    "Wei",
    "Li",
    "Xiao",
    "Yi",
    "Hao",
    "Jun",
    "Ming",
    "Sergey",
    "Pieter",
    "Chelsea",
    "Percy",
    "Christopher",
    "Dan",
    "Jacob",
    "Ashish",
    "Noam",
    "Oriol",
    "Alex",
    "Samy",
    "Bernhard",
    "Max",
    "Zoubin",
    "Michael",
    "Jürgen",
    "Sepp",
    "Tomas",
    "Quoc",
    "Jeff",
    "Kyunghyun",
    "Diederik",
    "Durk",
    "Aaron",
    "Nando",
    "Raia",
    "Timnit",
    "Joelle",
    "Doina",
    "Richard",
    "Andrej",
    "Jascha",
    "Surya",
    "Tengyu",
    "Tri",
    "Albert",
    "Song",
    "Jiaming",
    "Lilian",
    "Mira",
    "Anima",
    "Daphne",
    "Sanjeev",
    "Elad",
    "Shai",
    "Ohad",
    "Nati",
    "Ruslan",
    "Russ",
    "Zico",
    "Aleksander",
    "Ludwig",
    "Moritz",
    "Emmanuel",
    "Francis",
    "Gaël",
    "Léon",
    "Éric",
    "Olivier",
    "Marco",
    "Barbara",
    "Maria",
    "Sofía",
    "José",
)
LAST_NAMES = (
    "Bengio",
    "Hinton",
    "LeCun",
    "Li",
    "Ng",
    "Hassabis",
    "Sutskever",
    "He",
    "Sun",
    "Zhang",
    "Wang",
    "Chen",
    "Liu",
    "Yang",
    "Zhao",
    "Huang",
    "Wu",
    "Zhou",
    "Xu",
    "Levine",
    "Abbeel",
    "Finn",
    "Liang",
    "Manning",
    "Jurafsky",
    "Devlin",
    "Vaswani",
    "Shazeer",
    "Vinyals",
    "Krizhevsky",
    "Schölkopf",
    "Welling",
    "Ghahramani",
    "Jordan",
    "Schmidhuber",
    "Hochreiter",
    "Mikolov",
    "Le",
    "Dean",
    "Cho",
    "Kingma",
    "Courville",
    "de Freitas",
    "Hadsell",
    "Gebru",
    "Pineau",
    "Precup",
    "Sutton",
    "Karpathy",
    "Sohl-Dickstein",
    "Ganguli",
    "Ma",
    "Dao",
    "Gu",
    "Ermon",
    "Song",
    "Weng",
    "Murati",
    "Anandkumar",
    "Koller",
    "Arora",
    "Hazan",
    "Shalev-Shwartz",
    "Shamir",
    "Srebro",
    "Salakhutdinov",
    "Kolter",
    "Madry",
    "Schmidt",
    "Hardt",
    "Candès",
    "Bach",
    "Varoquaux",
    "Bottou",
    "Moulines",
    "Bousquet",
    "Cuturi",
    "Müller",
    "García",
    "Martínez",
    "Rodríguez",
    "Kim",
    "Park",
    "Lee",
    "Nguyen",
    "Tanaka",
    "Suzuki",
    "Sato",
    "Ivanov",
    "Petrov",
    "Novak",
    "Kowalski",
    "Rossi",
    "Bianchi",
    "Silva",
    "Santos",
)
FILLER = (
    "we",
    "propose",
    "a",
    "novel",
    "method",
    "for",
    "the",
    "of",
    "and",
    "to",
    "in",
    "that",
    "this",
    "paper",
    "show",
    "results",
    "performance",
    "approach",
    "framework",
    "based",
    "on",
    "our",
    "with",
    "state-of-the-art",
    "experiments",
    "demonstrate",
    "significant",
    "improvements",
    "over",
    "existing",
    "baselines",
    "across",
    "several",
    "tasks",
    "learning",
    "model",
    "models",
    "data",
    "training",
    "analysis",
    "problem",
    "efficient",
    "scalable",
    "simple",
    "effective",
    "new",
    "theoretical",
    "empirical",
    "study",
    "setting",
    "under",
    "which",
    "can",
    "be",
    "is",
    "are",
    "by",
    "from",
    "as",
    "an",
    "these",
    "however",
    "while",
    "both",
    "more",
    "than",
    "networks",
    "neural",
    "deep",
    "algorithm",
    "algorithms",
    "loss",
    "function",
    "inference",
    "real-world",
    "extensive",
    "code",
    "available",
    "publicly",
    "achieves",
    "outperforms",
    "prior",
    "work",
    "key",
    "challenge",
    "address",
    "limitations",
    "introduce",
    "leverage",
    "robust",
    "accuracy",
    "latency",
    "memory",
    "cost",
    "$\\mathcal{O}(n \\log n)$",
    "$L_1$",
    "10x",
    "2.5%",
    "ImageNet",
    "COCO",
    "GLUE",
    "MMLU",
    "GSM8K",
)


def zipf_weights(n: int, exponent: float) -> list[float]:
    """Weights 1/rank^exponent for ranks 1..n: a skewed popularity."""
    return [1.0 / (rank**exponent) for rank in range(1, n + 1)]


@dataclass(frozen=True)
class Vocabulary:
    """Skewed choosers over categories, keywords and authors shared by the paper and filter generators."""

    rng: random.Random

    def category(self, exponent: float = 1.1) -> str:
        """A category, popular ones far more often."""
        return self.rng.choices(CATEGORY_ORDER, weights=_weights(len(CATEGORY_ORDER), exponent))[0]

    def keyword(self, exponent: float = 0.9) -> str:
        """A keyword or phrase, popular ones far more often."""
        return self.rng.choices(KEYWORDS, weights=_weights(len(KEYWORDS), exponent))[0]

    def author(self) -> str:
        """A full author name, sometimes with a middle initial."""
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
        if self.rng.random() < 0.2:
            return f"{first} {self.rng.choice('ABCDEFGHJKLMNPRST')}. {last}"
        return f"{first} {last}"


@lru_cache(maxsize=16)
def _weights(n: int, exponent: float) -> list[float]:
    """Cached Zipf weights."""
    return zipf_weights(n, exponent)


def _inflect(term: str, rng: random.Random) -> str:
    """A keyword as an abstract might write it: sometimes plural, capitalised, or hyphen-joined to a word."""
    r = rng.random()
    if r < 0.25 and term[-1].isalpha() and term[-1] != "s":
        return term + "s"
    if r < 0.35:
        return term[:1].upper() + term[1:]
    if r < 0.42:
        return term + "-based"
    return term


def make_papers(count: int, seed: int = SEED) -> list[Paper]:
    """`count` papers of one announcement day: titles, abstracts, authors and categories, deterministic."""
    rng = random.Random(seed * 7 + count)
    vocab = Vocabulary(rng)
    papers = []
    for i in range(count):
        primary = vocab.category(0.9)
        ml = primary in ML_CATEGORIES
        # ML papers use the popular vocabulary; others mention a few, mostly rarer, of its terms.
        terms = [vocab.keyword(0.6 if ml else 0.2) for _ in range(rng.randint(2, 6) if ml else rng.randint(1, 3))]
        title_words = [_inflect(terms[0], rng), "for", *rng.sample(FILLER[:60], rng.randint(2, 5))]
        if len(terms) > 1 and rng.random() < 0.6:
            title_words += ["with", _inflect(terms[1], rng)]
        title = " ".join(title_words)
        title = title[:1].upper() + title[1:]
        sentences = []
        for _ in range(rng.randint(6, 10)):
            words = rng.choices(FILLER, k=rng.randint(12, 24))
            for term in rng.sample(terms, k=min(len(terms), rng.randint(1, 2))):
                words.insert(rng.randrange(len(words) + 1), _inflect(term, rng))
            sentence = " ".join(words)
            sentences.append(sentence[:1].upper() + sentence[1:] + ".")
        cross = {vocab.category() for _ in range(rng.choice((0, 0, 1, 1, 2)))} - {primary}
        arxiv_id = f"2402.{10000 + i:05d}"
        papers.append(
            Paper(
                arxiv_id=arxiv_id,
                title=title,
                abstract=" ".join(sentences),
                url=f"https://arxiv.org/abs/{arxiv_id}",
                version=1,
                authors=tuple(vocab.author() for _ in range(rng.randint(1, 8))),
                categories=(primary, *sorted(cross)),
                announce_type=rng.choice(("new", "new", "new", "cross")),
            )
        )
    return papers


def _quoted(term: str) -> str:
    """A keyword as a user types it: phrases in quotes."""
    return f'"{term}"' if " " in term else term


def filter_text(rng: random.Random) -> str:
    """One filter as a user would type it: a mix of categories, keywords, phrases, exclusions and authors."""
    vocab = Vocabulary(rng)
    kind = rng.random()
    categories = [vocab.category() for _ in range(rng.choice((1, 1, 1, 2)))]
    keywords = [_quoted(vocab.keyword()) for _ in range(rng.choice((1, 1, 2, 3)))]
    excludes = ["-" + _quoted(rng.choice(EXCLUSIONS))]
    if kind < 0.30:  # categories only: "cs.LG"
        terms = categories
    elif kind < 0.60:  # categories narrowed by keywords: 'cs.CV diffusion "image editing"'
        terms = categories + keywords
    elif kind < 0.75:  # keywords across all of arXiv: '"large language model" hallucination'
        terms = keywords
    elif kind < 0.87:  # with an exclusion: 'cs.CL "machine translation" -survey'
        terms = categories + keywords + excludes
    elif kind < 0.92:  # a category minus a topic: "cs.CL -survey"
        terms = categories + excludes
    else:  # people: 'author:Hinton' or 'cs.LG author:"Yoshua Bengio"'
        name = vocab.author()
        author = f"author:{name.split()[-1]}" if rng.random() < 0.5 else f'author:"{name}"'
        terms = ([categories[0]] if rng.random() < 0.5 else []) + [author]
    return " ".join(terms)


@cache
def _parse(text: str) -> Filter:
    """parse_filter, memoised (popular filters repeat a lot)."""
    return parse_filter(text)


def make_subscribers(count: int, seed: int = SEED) -> list[Subscriber]:
    """`count` Telegram subscribers with FILTERS_PER_SUBSCRIBER filters each, deterministic (a prefix is stable)."""
    return list(iter_subscribers(count, seed))


def iter_subscribers(count: int, seed: int = SEED) -> Iterator[Subscriber]:
    """The subscribers of `make_subscribers`, one at a time (a million need not be held at once)."""
    rng = random.Random(seed)
    for i in range(count):
        filters: list[Filter] = []
        while len(filters) < FILTERS_PER_SUBSCRIBER:
            f = _parse(filter_text(rng))
            if f not in filters:
                filters.append(f)
        yield Subscriber(ChatRef("telegram", str(100_000_000 + i)), tuple(filters))


_GENERATED: list[Subscriber] = []


def subscribers(count: int) -> list[Subscriber]:
    """The first `count` subscribers of the standard population, generated once per process and shared."""
    if len(_GENERATED) < count:
        _GENERATED[:] = make_subscribers(count)
    return _GENERATED[:count]


def forget() -> None:
    """Drop the shared population (the latency benchmarks want a small heap)."""
    _GENERATED.clear()
    _parse.cache_clear()


def filters_by_chat(subscribers: Sequence[Subscriber]) -> dict[str, tuple[Filter, ...]]:
    """The mapping CompiledMatcher takes: chat key -> filters."""
    return {sub.chat.key: sub.filters for sub in subscribers}
