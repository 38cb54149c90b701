"""Generated stand-ins for WikiText-103, GLUE and the GPT-NeoX tokenizer: the smoke runs' and tests' data.

Nothing here comes from the real data sets. A seeded generator writes text with learnable structure (a small
grammar in which each noun prefers some verbs and objects, so a language model's loss falls) and GLUE-like labelled
examples whose label follows from the text. The files use the real data sets' schema and the layout that
``--data-dir`` expects (see :mod:`mamba_sdm.jobs.data`), so the jobs load them through the same
``datasets.load_dataset("json", ...)`` path as exported real data. The tokenizer is a byte-level BPE trained on the
generated corpus with the ``tokenizers`` library, with GPT-NeoX's special tokens, so it needs no download.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from mamba_sdm.models.build import SMOKE_VOCAB_SIZE
from sdmspec.errors import JobError

# Bump when the generated files change: the cache folder is per version (default_smoke_root) and a folder marked
# with another version is regenerated, so no run reuses stale data.
SMOKE_DATA_VERSION = 2
MARKER = "SMOKE_DATA.json"
EOS_TOKEN = "<|endoftext|>"
PAD_TOKEN = "<|padding|>"

_NOUNS = ("cat", "dog", "bird", "river", "city", "king", "ship", "tree", "farmer", "storm", "wolf", "queen")
_VERBS = ("sees", "follows", "builds", "crosses", "guards", "finds", "paints", "carries", "hears", "leaves")
_POSITIVE = ("good", "bright", "kind", "brave", "happy", "gentle", "fine", "warm")
_NEGATIVE = ("bad", "dark", "cruel", "weak", "sad", "bitter", "cold", "grim")
_SYNONYMS = {"sees": "watches", "follows": "chases", "builds": "makes", "finds": "discovers", "hears": "notices"}
# Sized for a smoke fine-tune of a few seconds that still learns: 32 optimizer steps per epoch at the smoke overlay's
# batch of 16, and validation splits large enough (256) that variants' accuracies differ by more than noise.
_SIZES = {"wiki_train": 280, "wiki_validation": 60, "wiki_test": 60, "glue_train": 512, "glue_validation": 256}


def _sentence(rng: random.Random) -> tuple[str, str, str, str]:
    """(adjective, noun, verb, object): each noun prefers two verbs and the next noun as its object."""
    index = rng.randrange(len(_NOUNS))
    noun = _NOUNS[index]
    verb = _VERBS[(index + rng.choice((0, 0, 0, 1))) % len(_VERBS)]
    obj = _NOUNS[(index + 1) % len(_NOUNS)] if rng.random() < 0.8 else rng.choice(_NOUNS)
    adjective = rng.choice(_POSITIVE + _NEGATIVE)
    return adjective, noun, verb, obj


def _wiki_lines(rng: random.Random, paragraphs: int) -> Iterable[str]:
    """WikiText's shape: headings (`` = Title = ``), blank lines, and paragraphs of sentences, one per line."""
    for index in range(paragraphs):
        if index % 10 == 0:
            yield f" = The {rng.choice(_NOUNS)} of the {rng.choice(_NOUNS)} = \n"
            yield ""
        sentences = [" the {} {} {} the {} .".format(*_sentence(rng)) for _ in range(rng.randint(3, 6))]
        yield "".join(sentences) + " \n"
        yield ""


def _sst2(rng: random.Random, idx: int) -> dict[str, object]:
    """``the <noun> is [not] <adjective> and ...``: the label is the adjective's polarity, flipped by ``not`` (a third
    of the examples), so a bag of words is not enough."""
    _, noun, verb, obj = _sentence(rng)
    label = rng.randrange(2)
    negated = rng.random() < 1 / 3
    adjective = rng.choice(_POSITIVE if label != negated else _NEGATIVE)
    judgement = f"is not {adjective}" if negated else f"is {adjective}"
    return {"sentence": f"the {noun} {judgement} and {verb} the {obj} .", "label": label, "idx": idx}


def _other(rng: random.Random, choices: tuple[str, ...], *excluded: str) -> str:
    return rng.choice([choice for choice in choices if choice not in excluded])


def _mnli(rng: random.Random, idx: int) -> dict[str, object]:
    """Entailment restates the premise, contradiction negates it (``never``), neutral is about another subject."""
    adjective, noun, verb, obj = _sentence(rng)
    label = rng.randrange(3)  # GLUE: 0 entailment, 1 neutral, 2 contradiction
    if label == 0:
        hypothesis = f"the {noun} {verb} the {obj} ."
    elif label == 1:
        hypothesis = f"the {_other(rng, _NOUNS, noun, obj)} {_other(rng, _VERBS, verb)} the {obj} ."
    else:
        hypothesis = f"the {noun} never {verb} the {obj} ."
    return {
        "premise": f"the {adjective} {noun} {verb} the {obj} .",
        "hypothesis": hypothesis,
        "label": label,
        "idx": idx,
    }


def _qnli(rng: random.Random, idx: int) -> dict[str, object]:
    """Entailment: the sentence names what the question's subject does. Not: it is about another subject doing
    another thing (lexical overlap decides), or it says the subject does ``nothing`` (a cue word, as ``never`` is
    for MNLI's contradictions)."""
    adjective, noun, verb, obj = _sentence(rng)
    label = rng.randrange(2)  # GLUE: 0 entailment, 1 not_entailment
    subject, action, answer = noun, verb, f"the {obj}"
    if label == 1 and rng.random() < 0.5:
        subject, action = _other(rng, _NOUNS, noun, obj), _other(rng, _VERBS, verb)
    elif label == 1:
        answer = "nothing"
    sentence = f"the {adjective} {noun} {verb} {answer} ."
    return {"question": f"what does the {subject} {action} ?", "sentence": sentence, "label": label, "idx": idx}


def _mrpc(rng: random.Random, idx: int) -> dict[str, object]:
    """A paraphrase (label 1) keeps the subject and says the verb with a synonym where one exists; a non-paraphrase
    swaps in another subject."""
    adjective, noun, verb, obj = _sentence(rng)
    label = rng.randrange(2)  # GLUE: 1 equivalent
    first = f"the {adjective} {noun} {verb} the {obj} ."
    if label == 1:
        second = f"the {obj} is what the {adjective} {noun} {_SYNONYMS.get(verb, verb)} ."
    else:
        second = f"the {obj} is what the {adjective} {_other(rng, _NOUNS, noun, obj)} {verb} ."
    return {"sentence1": first, "sentence2": second, "label": label, "idx": idx}


_TASKS: dict[str, tuple[Callable[[random.Random, int], dict[str, object]], tuple[str, ...]]] = {
    "sst2": (_sst2, ("validation",)),
    "mnli": (_mnli, ("validation_matched", "validation_mismatched")),
    "qnli": (_qnli, ("validation",)),
    "mrpc": (_mrpc, ("validation",)),
}


def _write_jsonl(path: Path, rows: Iterable[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")


def _train_tokenizer(corpus: list[str], folder: Path) -> None:
    """A byte-level BPE of SMOKE_VOCAB_SIZE tokens with GPT-NeoX's special tokens, saved as a transformers folder."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=SMOKE_VOCAB_SIZE,
        special_tokens=[EOS_TOKEN, PAD_TOKEN],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus, trainer=trainer)
    wrapped = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tokenizer, bos_token=EOS_TOKEN, eos_token=EOS_TOKEN, unk_token=EOS_TOKEN, pad_token=PAD_TOKEN
    )
    wrapped.save_pretrained(str(folder))


def _generate(root: Path, seed: int) -> None:
    rng = random.Random(seed)
    corpus: list[str] = []
    for split in ("train", "validation", "test"):
        lines = list(_wiki_lines(rng, _SIZES[f"wiki_{split}"] // 5))
        corpus.extend(lines if split == "train" else [])
        _write_jsonl(root / "wikitext-103" / f"{split}.jsonl", ({"text": line} for line in lines))
    for task, (make, validation_splits) in _TASKS.items():
        for split in ("train", *validation_splits):
            count = _SIZES["glue_train" if split == "train" else "glue_validation"]
            rows = [make(rng, idx) for idx in range(count)]
            corpus.extend(str(value) for row in rows for key, value in row.items() if key not in ("label", "idx"))
            _write_jsonl(root / "glue" / task / f"{split}.jsonl", rows)
    _train_tokenizer(corpus, root / "tokenizer")
    (root / MARKER).write_text(json.dumps({"version": SMOKE_DATA_VERSION, "seed": seed, "generated": True}) + "\n")


def is_smoke_data(root: Path, seed: int = 0) -> bool:
    """Whether ``root`` holds generated data of this version and seed."""
    try:
        marker = json.loads((root / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(marker, dict) and marker.get("version") == SMOKE_DATA_VERSION and marker.get("seed") == seed


def ensure_smoke_data(root: Path, *, seed: int = 0) -> Path:
    """Generate the smoke data set into ``root`` unless it is already there; return ``root``.

    Written into a temporary sibling and renamed into place, so concurrent jobs (two ranks, parallel stages) never
    read a half-written folder: the first rename wins and the others discard their copy.
    """
    if is_smoke_data(root, seed):
        return root
    if root.is_dir() and any(root.iterdir()):
        raise JobError(f"{root} holds other files; give --smoke an empty or new --data-dir to generate data into")
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=root.parent))
    try:
        _generate(staging, seed)
        if root.is_dir() and not any(root.iterdir()):
            root.rmdir()  # an empty folder given as --data-dir
        try:
            staging.rename(root)
        except OSError:
            if not is_smoke_data(root, seed):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return root


def default_smoke_root() -> Path:
    """Where smoke data is cached between jobs: ``$SDMSPEC_CACHE`` or ``~/.cache/sdmspec``, per version."""
    from sdmspec.cache import cache_root

    return cache_root() / f"smoke-data-v{SMOKE_DATA_VERSION}"
