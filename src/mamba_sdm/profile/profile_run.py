"""``run_profile``: FLOPs (four ways) and latency for each variant at each batch size and sequence length.

FLOP counts depend on the architecture and the shape only, so fvcore and FlopCounterMode run once per
(architecture, batch size, sequence length), on the path that traces cheaply and counts what the reference loop
counts (:mod:`mamba_sdm.profile.counting`), and are shared by every variant with that architecture. Latency is
measured for each variant on its own weights, on the scan ``--scan`` resolves to (auto: mamba-ssm's kernels where
usable, else the parallel scan), and each result says which.

Time bound at full size: per variant and shape, latency is 3 warm-up passes plus at most ``FULL_TIMING[1]`` seconds
of timed passes (plus, with traces, two more passes); the counts cost one meta-device trace and one fvcore trace
(one real forward pass on the profiling device) per architecture and shape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from pathlib import Path

from mamba_sdm.models.scan import Scan, ScanChoice, apply_scan, parse_scan, resolve_scan
from mamba_sdm.profile.analytic import analytic_flops, effective_flops
from mamba_sdm.profile.counters import FvcoreCount, TorchCount, counting_scan
from mamba_sdm.profile.counting import CountCache
from mamba_sdm.profile.hardware import Hardware, detect_hardware
from mamba_sdm.profile.latency import Latency, measure_latency, write_trace
from mamba_sdm.profile.loading import LoadedVariant, load_variant
from mamba_sdm.profile.output import write_csv, write_json
from mamba_sdm.profile.plots import plot_flops, plot_latency
from mamba_sdm.profile.records import FlopFigures, ProfileReport, ProfileResult
from mamba_sdm.spec import Spec, Variant
from sdmspec.capture import capture_output
from sdmspec.device import resolve_device
from sdmspec.errors import CheckpointError, JobError, SdmspecError

SMOKE_SEQ_LENS = (16, 32)
# (min_run_time, max_run_time) in seconds for adaptive_autorange. The cap bounds a full-size run: 7 variants x 4
# lengths x 5 s is under 2.5 minutes of timed passes even where the median never settles; a settled median (the
# usual case on a GPU) stops after min_run_time.
SMOKE_TIMING = (0.02, 0.3)
FULL_TIMING = (0.5, 5.0)
JSON_FILE, CSV_FILE = "profile.json", "profile.csv"
TRACE_LOG = "traces/profiler.log"  # what torch.profiler prints while the traces are written
LATENCY_PLOT, FLOPS_PLOT = "latency_vs_seq_len.png", "flops_dense_vs_effective.png"

Progress = Callable[[str], None]
_LATENCY_PATHS = {
    Scan.KERNELS: "kernels (mamba-ssm, causal-conv1d)",
    Scan.PARALLEL: "parallel scan (mambapy, PyTorch)",
    Scan.REFERENCE: "reference scan (sequential loop, PyTorch)",
}


def _select_variants(spec: Spec, names: Sequence[str] | None) -> list[Variant]:
    selected: list[Variant] = []
    for name in dict.fromkeys(names or [v.name for v in spec.variants]):  # keep order, drop repeats
        try:
            selected.append(spec.variant(name))
        except KeyError as err:
            raise SdmspecError(str(err.args[0])) from None
    return selected


def _check_shapes(kind: str, values: Sequence[int]) -> tuple[int, ...]:
    if not values or any(v < 1 for v in values):
        raise SdmspecError(f"{kind} must be positive integers, got {list(values)}")
    return tuple(dict.fromkeys(values))


def _versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in ("torch", "transformers", "fvcore", "mambapy", "mamba-ssm", "causal-conv1d"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def _latency_path(scan: ScanChoice) -> str:
    return _LATENCY_PATHS[scan.path]


def _notes(torch_count: TorchCount, fvcore_count: FvcoreCount) -> tuple[str, ...]:
    if torch_count.flops == 2 * fvcore_count.macs:
        return ()
    ratio = torch_count.flops / fvcore_count.macs if fvcore_count.macs else float("nan")
    return (
        f"torch/fvcore = {ratio:.4f}, not exactly 2: beyond the unit, fvcore's matmul handle counts "
        "prod(A.shape) * B.shape[-1] and so drops the batch of dt_proj's 2-D weight @ batched input",
    )


def _time_forward(
    loaded: LoadedVariant,
    batch_size: int,
    seq_len: int,
    hardware: Hardware,
    scan: ScanChoice,
    timing: tuple[float, float],
    out_dir: Path,
    trace_stem: str | None,
) -> Latency:
    """The headline latency of one shape on ``scan``, and (``trace_stem``) its torch.profiler trace and
    top-operators table."""
    import torch

    generator = torch.Generator().manual_seed(0)
    input_ids = torch.randint(0, loaded.shape.vocab_size, (batch_size, seq_len), generator=generator)
    input_ids = input_ids.to(hardware.device)
    apply_scan(loaded.model, scan)  # again before every timing: counting may have traced another path on it
    latency = measure_latency(loaded.model, input_ids, min_run_time=timing[0], max_run_time=timing[1])
    if trace_stem:
        # torch.profiler's Kineto writes profiler_start/stop lines straight to the file descriptors: they go to one
        # log beside the traces, not into the command's progress lines.
        with capture_output(out_dir / TRACE_LOG, append=True):
            write_trace(loaded.model, input_ids, out_dir / f"{trace_stem}.json", out_dir / f"{trace_stem}.txt")
    return latency


def run_profile(
    spec: Spec,
    variants: Sequence[str] | None = None,
    *,
    checkpoints: Mapping[str, Path] | None = None,
    batch_sizes: Sequence[int] | None = None,
    seq_lens: Sequence[int] | None = None,
    smoke: bool = False,
    out_dir: Path,
    device: str = "auto",
    scan: str | Scan = Scan.AUTO,
    trace: bool = True,
    progress: Progress | None = None,
) -> ProfileReport:
    """Profile ``variants`` (default: all of the spec's) at every batch size x sequence length (default: the spec's
    ``profiling``; ``smoke``: tiny models and sequences of 16 and 32 tokens), write profile.json, profile.csv, the
    plots and (``trace``) one torch.profiler trace per run under ``out_dir``, and return what was measured.
    ``scan`` (auto, kernels, parallel, reference) is the scan the latency runs on, resolved for the device."""
    requested = parse_scan(scan)
    selected = _select_variants(spec, variants)
    checkpoints = dict(checkpoints or {})
    unknown = sorted(set(checkpoints) - {v.name for v in selected})
    if unknown:
        raise SdmspecError(f"--checkpoint names variants that are not profiled: {', '.join(unknown)}")
    for name, location in checkpoints.items():  # before any work: a typo must not cost a long run
        if not Path(location).exists():
            raise CheckpointError(f"checkpoint for {name} not found: {location}")
    if out_dir.exists() and not out_dir.is_dir():
        raise SdmspecError(f"--out {out_dir} exists and is not a folder")
    batches = _check_shapes("batch sizes", batch_sizes or spec.profiling.batch_sizes)
    lengths = _check_shapes("sequence lengths", seq_lens or (SMOKE_SEQ_LENS if smoke else spec.profiling.seq_lens))
    hardware = detect_hardware(spec, resolve_device(device, JobError))
    latency_scan = resolve_scan(requested, hardware.device)  # refuses here, before any model is built
    timing = SMOKE_TIMING if smoke else FULL_TIMING
    cache = CountCache(counting_scan(requested), progress)
    results: list[ProfileResult] = []
    files: list[str] = []
    if trace:
        (out_dir / TRACE_LOG).unlink(missing_ok=True)  # the traces append to it: this run's lines only
        files.append(TRACE_LOG)
    for variant in selected:
        loaded = load_variant(spec, variant, checkpoints.get(variant.name), smoke=smoke, device=hardware.device)
        for batch_size in batches:
            for seq_len in lengths:
                if progress:
                    progress(f"{variant.name}: batch {batch_size}, {seq_len} tokens")
                count = cache.get(loaded, batch_size, seq_len)
                torch_count, fvcore_count = count.torch, count.fvcore
                analytic = analytic_flops(loaded.shape, batch_size * seq_len)
                stem = f"traces/{variant.name}_b{batch_size}_s{seq_len}" if trace else None
                latency = _time_forward(loaded, batch_size, seq_len, hardware, latency_scan, timing, out_dir, stem)
                if stem:
                    files += [f"{stem}.json", f"{stem}.txt"]
                results.append(
                    ProfileResult(
                        variant=variant.name,
                        size=variant.size,
                        method=variant.method.value,
                        batch_size=batch_size,
                        seq_len=seq_len,
                        flops=FlopFigures(
                            fvcore=fvcore_count.macs,
                            torch=torch_count.flops,
                            analytic=analytic.total_flops,
                            effective=effective_flops(loaded.shape, analytic.tokens, loaded.density),
                        ),
                        analytic=analytic,
                        torch_by_operator=torch_count.by_operator,
                        fvcore_by_operator=fvcore_count.by_operator,
                        fvcore_skipped_ops=fvcore_count.skipped,
                        latency=latency,
                        hardware=hardware,
                        checkpoint=loaded.checkpoint,
                        sparsity=loaded.sparsity,
                        sparsity_source=loaded.sparsity_source,
                        latency_path=_latency_path(latency_scan),
                        scan=latency_scan,
                        flop_count=count.index,
                        trace=f"{stem}.json" if stem else None,
                        top_operators=f"{stem}.txt" if stem else None,
                        notes=_notes(torch_count, fvcore_count),
                    )
                )
        del loaded  # free the variant's weights before loading the next
    plot_latency(results, out_dir / LATENCY_PLOT, f"{hardware.label}, {_latency_path(latency_scan)}")
    plot_flops(results, out_dir / FLOPS_PLOT, hardware.label)
    files = [JSON_FILE, CSV_FILE, LATENCY_PLOT, FLOPS_PLOT, *files]
    report = ProfileReport(
        results=tuple(results),
        hardware=hardware,
        smoke=smoke,
        spec_digest=spec.digest,
        out_dir=out_dir,
        files=tuple(files),
        versions=_versions(),
        scan=latency_scan,
        counting_scan=cache.scan,
        flop_counts=cache.counts,
    )
    write_csv(out_dir / CSV_FILE, report.results)
    write_json(out_dir / JSON_FILE, report.to_json())
    return report
