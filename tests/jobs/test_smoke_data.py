"""The generated stand-in data: real schemas, learnable labels, a tokenizer without download, loaded like real files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mamba_sdm.jobs.data import GLUE_FOLDER, PRETRAIN_FOLDER, load_split, load_tokenizer, resolve_source
from mamba_sdm.jobs.smoke_data import _NEGATIVE, _POSITIVE, ensure_smoke_data, is_smoke_data
from mamba_sdm.models.build import SMOKE_VOCAB_SIZE
from mamba_sdm.spec import Spec

GLUE_FIELDS = {
    "sst2": {"sentence", "label", "idx"},
    "mnli": {"premise", "hypothesis", "label", "idx"},
    "qnli": {"question", "sentence", "label", "idx"},
    "mrpc": {"sentence1", "sentence2", "label", "idx"},
}


def rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_files_follow_the_real_schemas_and_the_spec(smoke_data: Path, spec: Spec) -> None:
    assert {"text"} == set(rows(smoke_data / PRETRAIN_FOLDER / "train.jsonl")[0])
    for task, fields in GLUE_FIELDS.items():
        task_spec = spec.data.finetune[task]
        for split in (task_spec.train_split, *task_spec.validation_splits):
            examples = rows(smoke_data / GLUE_FOLDER / task / f"{split}.jsonl")
            assert examples and all(set(example) == fields for example in examples)
            assert {example["label"] for example in examples} <= set(range(task_spec.num_labels))


def test_sst2_label_follows_from_the_adjective_and_negation(smoke_data: Path) -> None:
    examples = rows(smoke_data / GLUE_FOLDER / "sst2" / "train.jsonl")
    for example in examples:
        words = str(example["sentence"]).split()
        polarity = [word in _POSITIVE for word in words if word in _POSITIVE + _NEGATIVE]
        assert len(polarity) == 1
        assert example["label"] == int(polarity[0] != ("not" in words))
    # Both forms occur, so the label is not a bag of words.
    assert {"not" in str(example["sentence"]).split() for example in examples} == {True, False}


def test_pair_labels_follow_from_overlap_or_a_cue_word(smoke_data: Path) -> None:
    for example in rows(smoke_data / GLUE_FOLDER / "qnli" / "train.jsonl"):
        subject = str(example["question"]).split()[3]
        named = subject in str(example["sentence"]).split() and "nothing" not in str(example["sentence"])
        assert named == (example["label"] == 0)
    for example in rows(smoke_data / GLUE_FOLDER / "mnli" / "train.jsonl"):
        hypothesis = str(example["hypothesis"])
        assert ("never" in hypothesis.split()) == (example["label"] == 2)
        assert (hypothesis.split()[1] in str(example["premise"]).split()) == (example["label"] != 1)


def test_validation_splits_are_large_and_not_one_class(smoke_data: Path, spec: Spec) -> None:
    # 32 examples left every variant's accuracy within noise of the others; the majority class must not dominate.
    for task in GLUE_FIELDS:
        task_spec = spec.data.finetune[task]
        for split in task_spec.validation_splits:
            labels = [example["label"] for example in rows(smoke_data / GLUE_FOLDER / task / f"{split}.jsonl")]
            assert len(labels) >= 128
            assert max(labels.count(label) for label in set(labels)) / len(labels) < 0.6


def test_generation_is_deterministic_and_reused(tmp_path: Path, smoke_data: Path) -> None:
    again = ensure_smoke_data(tmp_path / "again")
    for relative in ("wikitext-103/train.jsonl", "glue/mnli/validation_mismatched.jsonl", "tokenizer/tokenizer.json"):
        assert (again / relative).read_bytes() == (smoke_data / relative).read_bytes()
    stamp = (again / "SMOKE_DATA.json").stat().st_mtime_ns
    ensure_smoke_data(again)
    assert (again / "SMOKE_DATA.json").stat().st_mtime_ns == stamp
    assert is_smoke_data(again) and not is_smoke_data(tmp_path)


def test_tokenizer_needs_no_download_and_fits_the_smoke_vocabulary(smoke_data: Path, spec: Spec) -> None:
    source = resolve_source(spec, smoke=True, data_dir=smoke_data, tokenizer=None)
    tokenizer = load_tokenizer(source)
    assert len(tokenizer) <= SMOKE_VOCAB_SIZE
    assert tokenizer.eos_token == "<|endoftext|>" and tokenizer.pad_token == "<|padding|>"
    ids = tokenizer(" the brave wolf sees the queen .")["input_ids"]
    assert tokenizer.decode(ids) == " the brave wolf sees the queen ."


def test_splits_load_through_datasets_json_builder(smoke_data: Path, spec: Spec) -> None:
    source = resolve_source(spec, smoke=True, data_dir=smoke_data, tokenizer=None)
    mnli = load_split(source, f"{GLUE_FOLDER}/mnli", ("glue", "mnli"), "validation_mismatched", "GLUE mnli")
    assert mnli.column_names == ["premise", "hypothesis", "label", "idx"]
    assert len(mnli) == len(rows(smoke_data / GLUE_FOLDER / "mnli" / "validation_mismatched.jsonl"))


def test_smoke_refuses_to_generate_into_a_folder_with_other_files(tmp_path: Path) -> None:
    from sdmspec.errors import JobError

    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(JobError, match="holds other files"):
        ensure_smoke_data(tmp_path)
