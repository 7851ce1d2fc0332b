"""The command line: a thin layer that fills a config and calls :mod:`facecluster.app`."""
from __future__ import annotations

import json
from pathlib import Path

import click

from facecluster._version import __version__
from facecluster.errors import FaceclusterError


def _config(**kwargs):
    from facecluster.config import PipelineConfig

    return PipelineConfig(**{k: v for k, v in kwargs.items() if v is not None})


def _workers(value: int | None) -> int:
    from facecluster.threads import available_cores

    return value if value else available_cores()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="facecluster")
def main() -> None:
    """Find out who appears in a video, and when."""


@main.command()
@click.argument("videos", nargs=-1, required=True, type=click.Path(path_type=Path, readable=False))
@click.option("-o", "--out", "out", required=True, type=click.Path(path_type=Path), help="Output folder; each video gets OUT/<stem>/.")
@click.option("--num-people", type=click.IntRange(min=1), default=None, help="Number of people, when known (default: estimated).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Cores for embedding (default: all cores).")
@click.option("--detector", type=click.Choice(["centerface", "yunet", "dlib-hog"]), default="centerface", show_default=True,
              help="Face detector: CenterFace (the default), YuNet (cheaper a frame; see benchmarks/results/dev_suite.md), "
                   "dlib's HOG (frontal faces only).")
@click.option("--detect-every", type=click.IntRange(min=1), default=1, show_default=True,
              help="Detect faces on every k-th frame of each shot (and its first and last); tracks carry boxes in between (1: every frame).")
@click.option("--full-frame-every", type=click.IntRange(min=1), default=8, show_default=True,
              help="Search every m-th key frame of a shot whole (and its first and last), the others only around the faces "
                   "found on those (1: every key frame whole).")
@click.option("--coarse-side", type=click.IntRange(min=0), default=640, show_default=True,
              help="Search frames larger than this (pixels, longer side) scaled down to it, except in shots where a full-size "
                   "search finds faces the scaled-down one does not (0: always at full size).")
@click.option("--faces-per-track", type=click.IntRange(min=0), default=16, show_default=True, help="Faces embedded per track (0 = all).")
@click.option("--cluster", "cluster", type=click.Choice(["average", "complete", "single", "ward", "finch"]), default="average",
              show_default=True, help="Clustering method (all keep faces seen together apart).")
@click.option("--distance-threshold", type=click.FloatRange(min=0.0), default=None,
              help="Stop merging above this distance when K is unknown (FINCH: the hierarchy level); default: the method's calibrated value.")
@click.option("--learn", type=click.Choice(["none", "ccl", "ssiam", "tsiam", "both"]), default="none", show_default=True,
              help="Adapt the face features to this video (CCL: pairs from a clustering of its tracks and from tracks on screen "
                   "together; SSiam: self-mined pairs; TSiam: pairs from tracks; both: half each; none: the network's own, the "
                   "default: on the dev suite no learner gains where it was not tuned).")
@click.option("--learn-variant", type=click.Choice(["tuned", "paper"]), default="tuned", show_default=True,
              help="tuned: the best measured settings; paper: the authors' settings (see facecluster.learn.variants).")
@click.option("--network", type=click.Choice(["sface", "dlib"]), default="sface", show_default=True,
              help="Face network: sface (SFace, aligned on 5 landmarks; the default) or dlib (dlib's ResNet, the "
                   "default before; vectors of the two are never compared).")
@click.option("--embedder", type=click.Choice(["auto", "onnxruntime", "torch", "dlib"]), default="auto", show_default=True,
              help="Backend of dlib's network (--network dlib): onnxruntime (CPU), torch (PyTorch, CPU or GPU), dlib (the "
                   "reference; ~20x slower); auto: torch where --device resolves to a GPU, else onnxruntime. SFace runs on OpenCV.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="Where the torch embedder and the SSiam/TSiam learners run (auto: a GPU when PyTorch sees one).")
@click.option("--cues", type=click.Choice(["auto", "face", "face+clothing"]), default="auto", show_default=True,
              help="face: faces alone; face+clothing: clothing colours within a scene also count (self-calibrated); "
                   "auto: face+clothing with average, complete or single linkage.")
@click.option("--scheduler", default=None, metavar="ADDRESS|local:N",
              help="Run the videos as tasks on a Dask cluster: a scheduler address (tcp://host:8786) or local:N worker processes. "
                   "OUT must be reachable from every worker.")
@click.option("--parquet", is_flag=True, help="Also write faces.parquet with each face's embedding (needs pyarrow).")
@click.option("--gallery", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="People gallery (SQLite file, created if absent): people it knows are recognised and named, and it "
                   "learns this run's people. Default: OUT/people.db when there are several videos.")
@click.option("--force", is_flag=True, help="Recompute every stage, ignoring the cache.")
def run(videos, out, num_people, seed, workers, detector, detect_every, full_frame_every, coarse_side, faces_per_track, cluster,
        distance_threshold, learn, learn_variant, network, embedder, device, cues, scheduler, parquet, gallery, force) -> None:
    """Detect, track, embed and cluster the faces of VIDEOS."""
    from facecluster.app import prepare_gallery, process_videos, write_video_collection
    from facecluster.progress import TqdmProgress

    config = _config(
        num_people=num_people,
        seed=seed,
        workers=_workers(workers),
        detector=detector,
        detect_every=detect_every,
        full_frame_every=full_frame_every,
        coarse_side=coarse_side,
        faces_per_track=faces_per_track,
        cluster=cluster,
        distance_threshold=distance_threshold,
        learn=learn,
        learn_variant=learn_variant,
        network=network,
        embedder=embedder,
        device=device,
        cues=cues,
    )

    def report(outcome) -> None:
        if outcome.error:
            click.echo(f"error: {outcome.error}", err=True)
        else:
            s = outcome.summary
            click.echo(
                f"{outcome.video.name}: {s['num_people']} people, {s['num_tracks']} tracks, "
                f"{s['num_faces']} faces, {s['num_shots']} shots "
                f"in {outcome.seconds:.1f} s -> {outcome.folder}"
            )

    people_gallery = prepare_gallery(out, videos, gallery, force, network)
    outcomes = process_videos(
        videos, out, config, hook_for=lambda p: TqdmProgress(prefix=f"{p.name}: "), force=force, parquet=parquet, on_done=report,
        scheduler=scheduler, auto_workers=workers is None,
    )
    failed = [o for o in outcomes if o.error]
    names = {}
    if people_gallery is not None:
        from facecluster.jobs.gallery import apply_gallery

        names = apply_gallery(people_gallery, outcomes)
        click.echo(f"gallery: {len(set(names.values()))} named people recognised -> {people_gallery.path}")
    if len(outcomes) > 1:
        written = write_video_collection(out, outcomes, names)
        if "people.json" in written:
            people = len(json.loads(written["people.json"].read_text())["people"])
            click.echo(f"people across videos: {people} -> {written['people.json']}, {written['people.html']}")
        click.echo(f"index: {written['index.html']}")
        click.echo(f"done: {len(outcomes) - len(failed)} of {len(outcomes)} videos" + (f", {len(failed)} failed" if failed else ""))
    if failed:
        raise SystemExit(1)


@main.command()
@click.argument("folders", nargs=-1, required=True, type=click.Path(path_type=Path, readable=False))
@click.option("-o", "--out", "out", required=True, type=click.Path(path_type=Path),
              help="Output folder; results go to OUT/<folder name>/, and with several folders (albums) OUT/people.json links their people.")
@click.option("--num-people", type=click.IntRange(min=1), default=None, help="Number of people, when known (default: estimated).")
@click.option("--cluster", "cluster", type=click.Choice(["average", "graph", "complete", "single", "ward", "finch"]), default="average",
              show_default=True, help="average: exact up to 2,000 faces, on a nearest-neighbour graph beyond (graph: always).")
@click.option("--distance-threshold", type=click.FloatRange(min=0.0), default=None)
@click.option("--learn", type=click.Choice(["none", "ssiam"]), default="none", show_default=True,
              help="ssiam: adapt the features to this collection (measured to lower quality on dlib features; see README).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=None)
@click.option("--network", type=click.Choice(["sface", "dlib"]), default="sface", show_default=True,
              help="Face network (see facecluster run --help).")
@click.option("--embedder", type=click.Choice(["auto", "onnxruntime", "torch", "dlib"]), default="auto", show_default=True,
              help="Backend of dlib's network (see facecluster run --help).")
@click.option("--export-folders", is_flag=True, help="Write people/person_<id>/ with links to each person's photos.")
@click.option("--copy", is_flag=True, help="With --export-folders: copy the photos instead of linking them.")
@click.option("--parquet", is_flag=True, help="Also write faces.parquet with each face's embedding (needs pyarrow).")
@click.option("--force", is_flag=True, help="Write into an output folder that holds other files (they are never removed).")
def images(folders, out, num_people, cluster, distance_threshold, learn, seed, workers, network, embedder, export_folders, copy, parquet,
           force) -> None:
    """Find the people in folders of photos (JPEG, PNG, WebP); several folders are albums whose people are linked."""
    from facecluster.errors import InputError
    from facecluster.jobs.photos import process_photos
    from facecluster.outputs.folders import check_collection_folder
    from facecluster.outputs.people import write_collection
    from facecluster.progress import TqdmProgress

    names: dict[str, Path] = {}
    for folder in folders:
        name = folder.resolve().name or "photos"
        if name in names and names[name] != folder:
            raise InputError(folder, f"has the same name as {names[name]}; their outputs would collide in {out / name}")
        names[name] = folder
    if len(folders) > 1:
        check_collection_folder(out, force)
    sources, failed = [], 0
    for folder in folders:
        hook = TqdmProgress(prefix=f"{folder.name}: ")
        try:
            outcome = process_photos(folder, out, num_people=num_people, cluster=cluster, distance_threshold=distance_threshold,
                                     learn=learn, seed=seed, workers=_workers(workers), network=network, embedder=embedder,
                                     export_folders=export_folders,
                                     copy=copy, parquet=parquet, force=force, inputs=list(folders), hook=hook,
                                     warn=lambda msg: click.echo(f"warning: {msg}", err=True))
        except Exception as exc:  # one album's failure never stops the others
            if len(folders) == 1:
                raise
            message = str(exc) if isinstance(exc, FaceclusterError) else f"{folder}: unexpected {type(exc).__name__}: {exc}"
            click.echo(f"error: {message}", err=True)
            failed += 1
            continue
        finally:
            hook.close()
        sources.append(outcome.people)
        skipped = f", {len(outcome.skipped)} files skipped" if outcome.skipped else ""
        click.echo(f"{folder}: {outcome.num_people} people, {outcome.num_faces} faces in {outcome.num_photos} photos{skipped}, "
                   f"in {outcome.seconds:.1f} s -> {outcome.folder}/report.html")
    if len(folders) > 1:
        written = write_collection(out, sources)
        if "people.json" in written:
            people = len(json.loads(written["people.json"].read_text())["people"])
            click.echo(f"people across albums: {people} -> {written['people.json']}, {written['people.html']}")
    if failed:
        raise SystemExit(1)


@main.command("cluster")
@click.argument("embeddings", type=click.Path(path_type=Path))
@click.option("-o", "--out", "output", required=True, type=click.Path(path_type=Path), help="Labels file to write (CSV: row,person).")
@click.option("--cannot-link", type=click.Path(path_type=Path), default=None,
              help="CSV of row pairs that are different people (two row numbers a line), e.g. faces of one photo.")
@click.option("--num-people", type=click.IntRange(min=1), default=None, help="Number of people, when known (default: estimated).")
@click.option("--method", type=click.Choice(["auto", "average", "graph", "finch"]), default="auto", show_default=True,
              help="auto: exact average linkage up to 2,000 rows, average linkage on a nearest-neighbour graph beyond.")
@click.option("--distance-threshold", type=click.FloatRange(min=0.0), default=None,
              help="Stop distance between L2-normalised rows (default: calibrated on the embeddings).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--force", is_flag=True, help="Overwrite an output file that facecluster did not write.")
def cluster_cmd(embeddings, output, cannot_link, num_people, method, distance_threshold, seed, force) -> None:
    """Group face EMBEDDINGS (.npy, .npz or .parquet, one face a row, any face network) into people."""
    from facecluster.jobs.embeddings import cluster_file

    done = cluster_file(embeddings, output, cannot_link=cannot_link, n_clusters=num_people, method=method,
                        distance_threshold="auto" if distance_threshold is None else distance_threshold, random_state=seed, force=force)
    skipped = f" ({done.rows - done.clustered} rows without an embedding left out)" if done.rows > done.clustered else ""
    click.echo(f"{embeddings}: {done.people} people in {done.clustered} rows{skipped} -> {done.output}")


@main.command("export-embedder")
@click.argument("output", type=click.Path(path_type=Path))
def export_embedder_cmd(output) -> None:
    """Write the face network to OUTPUT (.onnx): uint8 chips (N, 150, 150, 3) -> (N, 128) descriptors."""
    from facecluster.faces.embed.onnx_export import export_embedder

    click.echo(f"wrote {export_embedder(output)}")


@main.command()
@click.argument("folder", type=click.Path(path_type=Path))
def report(folder) -> None:
    """Re-render FOLDER/report.html (e.g. after editing FOLDER/names.json), without recomputing."""
    from facecluster.outputs.report import render_report

    click.echo(f"report: {render_report(folder)}")


@main.command()
@click.option("-o", "--out", "out", default="demo_out", show_default=True, type=click.Path(path_type=Path))
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Worker processes (default: all cores).")
def demo(out, workers) -> None:
    """Build a short sample video from photographs in installed packages and run on it."""
    from facecluster.app import run_demo
    from facecluster.demo import expected_people
    from facecluster.progress import TqdmProgress

    hook = TqdmProgress(prefix="demo: ")
    outcome = run_demo(out, _config(workers=_workers(workers)), hook=hook)
    hook.close()
    if outcome.error:
        raise FaceclusterError(outcome.error)
    r = outcome.result
    click.echo(
        f"demo: found {r.num_people} people (the sample holds {expected_people()}) in {r.tracks.num_tracks} tracks "
        f"over {len(r.shots)} shots, in {outcome.seconds:.1f} s"
    )
    click.echo(f"results: {outcome.folder}/report.html (open it in a browser), clusters.json, faces.csv, tracks.csv, chips/")


@main.command("eval")
@click.argument("pred_dir", type=click.Path(path_type=Path))
@click.argument("gt_dir", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def eval_cmd(pred_dir, gt_dir, as_json) -> None:
    """Score the run in PRED_DIR (its faces.csv) against GT_DIR/faces.csv."""
    from facecluster.app import dump_json, evaluate, format_scores

    scores = evaluate(pred_dir, gt_dir)
    click.echo(dump_json(scores) if as_json else format_scores(scores))


@main.command()
@click.argument("episode")
@click.option("--annotations", required=True, type=click.Path(path_type=Path), help="Folder of the TV annotations (with tracks/).")
@click.option("--features", type=click.Path(path_type=Path), default=None, help="Per-face features: .mat (v5 or v7.3), .h5, or a folder of <trackId>.npy.")
@click.option("--video", type=click.Path(path_type=Path), default=None, help="The episode's video: embed the annotated boxes with our network instead.")
@click.option("--method", type=click.Choice(["all", "none", "ssiam", "tsiam"]), default="all", show_default=True)
@click.option("--variant", type=click.Choice(["paper", "tuned"]), default="paper", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--max-frames", type=click.IntRange(min=2), default=None, help="Frame level on an even sample of this many faces (Ward needs O(n²) memory).")
@click.option("--workers", type=click.IntRange(min=1), default=None)
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
def paper(episode, annotations, features, video, method, variant, seed, max_frames, workers, as_json) -> None:
    """Run the paper's protocol on a TV benchmark EPISODE (e.g. bbt_s01e01)."""
    from facecluster.app import run_paper

    rows, table = run_paper(episode, annotations, features=features, video=video, method=method, variant=variant,
                            seed=seed, max_frames=max_frames, workers=_workers(workers),
                            hook=lambda msg: click.echo(f"{episode}: {msg}", err=True))
    if as_json:
        from dataclasses import asdict

        from facecluster.app import dump_json

        click.echo(dump_json([asdict(r) for r in rows]))
    else:
        click.echo(table)


@main.command("gallery")
@click.argument("gallery", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--rename", nargs=2, type=(int, str), default=None, metavar="ID NAME",
              help="Name gallery person ID (an empty NAME removes the name).")
@click.option("--json", "as_json", is_flag=True, help="Print the people as JSON.")
@click.option("--reembed", is_flag=True,
              help="Move the gallery to --network's vectors (from the face crops it keeps), names and appearances kept.")
@click.option("--network", type=click.Choice(["sface", "dlib"]), default="sface", show_default=True,
              help="With --reembed: the network to move to.")
def gallery_command(gallery, rename, as_json, reembed, network) -> None:
    """List the people of a people GALLERY (see run --gallery), name one of them, or move it to another network."""
    from dataclasses import asdict

    from facecluster.jobs.gallery import open_gallery, reembed_gallery

    if reembed:
        done = reembed_gallery(gallery, network)
        click.echo(f"{gallery}: {done['moved']} reference(s) moved from {done['from']} to {done['to']}"
                   + (f", {done['dropped']} without face crops dropped" if done["dropped"] else ""))
        return
    people_gallery = open_gallery(gallery, None)
    if rename is not None:
        people_gallery.rename(rename[0], rename[1])
        click.echo(f"person {rename[0]}: {rename[1] or '(no name)'}")
        return
    people = people_gallery.people()
    if as_json:
        click.echo(json.dumps([asdict(p) for p in people], indent=2))
        return
    for p in people:
        click.echo(f"{p.id:>5}  {p.name or '-':<24} {p.sources} source(s), {p.faces} faces, {p.screen_time_s:.1f} s, "
                   f"{p.references} reference(s)")


@main.command()
@click.argument("out", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--port", type=click.IntRange(min=0, max=65535), default=0, show_default=True, help="Port on 127.0.0.1 (0: a free one).")
def review(out, port) -> None:
    """Correct the clustering of a run's videos in a browser: rename, merge, move a track, mark "not a face".

    Serves a local page over OUT (one video's folder, or a run's OUT) on 127.0.0.1 only, at a URL with a random
    token; every change goes to OUT/<video>/corrections.json and the outputs are rewritten. Ctrl-C stops it."""
    from facecluster.review import make_server, url_of

    server, state = make_server(out, port)
    click.echo(f"review: {url_of(server, state)}  (Ctrl-C to stop)")
    try:
        server.serve_forever()
    finally:
        server.server_close()
