/**
 * What every `rstn` command accepts: its name, summary, arguments, flags and help text, as plain
 * data. Every invocation reads this module (for dispatch, `--help` and flag parsing) before it
 * knows which command's code to load, so it imports nothing that costs start-up time: no Effect,
 * no TensorFlow.js, no Ink. The commands' code lives in `commands/`, loaded on demand.
 */
import { DEFAULT_MAX_VOXELS } from "../ops/nifti/limits.ts"
import { PHANTOM_SIZES } from "../ops/phantom/grid.ts"
import { WEIGHT_MAPS } from "../ops/weights/map-names.ts"
import { backendChoices } from "../runtime/backend-names.ts"
import type { CommandSpec } from "./args.ts"

const setFlag = (example: string) =>
  ({ kind: "string", multiple: true, placeholder: "PATH=VALUE", description: `Override a pipeline key, e.g. ${example}.` }) as const

const gridFlag = {
  kind: "string",
  multiple: true,
  placeholder: "PATH=[a,b]",
  description: "A sweep axis: one run per value, e.g. 'test.stages[2].converge-until.threshold=[0.95,0.99]'."
} as const

const tuiFlag = {
  kind: "boolean",
  default: true,
  description: "Show the terminal UI when stdout is a terminal; --no-tui prints log lines."
} as const

export const runSpec: CommandSpec = {
  name: "run",
  summary: "Run a pipeline: train, coarse-to-fine test and evaluate, reusing finished work.",
  positionals: "FILE",
  minPositionals: 1,
  maxPositionals: 1,
  flags: {
    set: setFlag("training.batch-size=4"),
    backend: {
      kind: "string",
      placeholder: "NAME",
      choices: backendChoices,
      description: `Tensor backend: ${backendChoices.join(", ")} (the pipeline's run.backend).`
    },
    "run-dir": { kind: "string", placeholder: "DIR", description: "Run directory (the pipeline's run.dir)." },
    tui: tuiFlag
  },
  details: [
    "Work is cached in the run directory under keys of the configuration it read: a rerun skips",
    "what finished, and an interrupted run (Ctrl-C, a crash) continues with `rstn resume DIR`.",
    "`rstn plan FILE` shows what would run and why. Results: DIR/summary.md, summary.json,",
    "cases.csv, report.html, predictions/CASE.nii.gz; events: DIR/events.jsonl (`rstn watch DIR`)."
  ].join("\n")
}

export const resumeSpec: CommandSpec = {
  name: "resume",
  summary: "Continue an interrupted or failed run from where it stopped.",
  positionals: "RUN_DIR",
  minPositionals: 1,
  maxPositionals: 1,
  flags: { tui: tuiFlag },
  details:
    "Runs the resolved pipeline saved in RUN_DIR/pipeline.json (later edits of the YAML file do not\napply; use `rstn run FILE` for those). Finished nodes are reused; training continues from its last checkpoint."
}

export const statusSpec: CommandSpec = {
  name: "status",
  summary: "Show a run's state and its nodes: done, running, pending, failed.",
  positionals: "RUN_DIR",
  minPositionals: 1,
  maxPositionals: 1,
  flags: {
    all: { kind: "boolean", description: "List every node, not only the running, failed, skipped and resumable ones." },
    json: { kind: "boolean", description: "Print the report as one JSON object." }
  },
  details: "Reads events.jsonl, run.lock and the node manifests; never writes to the run directory, so it is safe during a run."
}

export const reportSpec: CommandSpec = {
  name: "report",
  summary: "Write a run's report.html: overlays of every round, plots, tables, the pipeline.",
  positionals: "RUN_DIR",
  minPositionals: 1,
  maxPositionals: 1,
  flags: {},
  details: [
    "Writes RUN_DIR/report.html, one self-contained page (images embedded): per case the CT",
    "window with the ground-truth and predicted contours of the coarse mask and each round on",
    "the axial, coronal and sagittal slices through the organ's centre; DSC, inter-iteration DSC,",
    "precision and recall per round; training losses per phase and view; summary.md's tables and",
    "the resolved pipeline. Every run writes it at its end; this makes it again (e.g. for a run",
    "made by an older rstn). Reads the run directory and the dataset; writes only report.html."
  ].join("\n")
}

export const watchSpec: CommandSpec = {
  name: "watch",
  summary: "Show a run's progress from its events.jsonl, live or finished.",
  positionals: "RUN_DIR",
  minPositionals: 1,
  maxPositionals: 1,
  details:
    "Attaches the terminal UI to a run started elsewhere and follows it as it goes; it never writes\n" +
    "to the run directory. q leaves (the run goes on), tab switches panels, arrows and PgUp/PgDn\n" +
    "scroll, left/right move through the rounds. When stdout is not a terminal it prints the\n" +
    "current state once, as --once does.",
  flags: {
    once: { kind: "boolean", description: "Print the current state (the summary of a finished run) and exit." },
    poll: { kind: "number", integer: true, description: "How often to look for new events, in milliseconds.", placeholder: "MS", default: 250 }
  }
}

export const planSpec: CommandSpec = {
  name: "plan",
  summary: "Show which nodes a run would reuse, run, or re-run, and why.",
  positionals: "FILE",
  minPositionals: 1,
  maxPositionals: 1,
  flags: {
    set: setFlag("training.batch-size=4"),
    "run-dir": { kind: "string", placeholder: "DIR", description: "Plan against this run directory instead of the pipeline's run.dir." },
    grid: gridFlag,
    json: { kind: "boolean", description: "Print the plan as JSON." }
  },
  details: [
    "A node is cached when its outputs exist under its key (a hash of the configuration it reads and its inputs' keys).",
    "On a sweep (a file with a sweep: section, or --grid): each run's nodes by group, and which are shared,",
    "i.e. taken finished from the store, the file's own run or an earlier run of the sweep instead of computed."
  ].join("\n")
}

export const sweepSpec: CommandSpec = {
  name: "sweep",
  summary: "Run every combination of a sweep, computing each shared node once, then compare the runs.",
  positionals: "FILE",
  minPositionals: 1,
  maxPositionals: 1,
  flags: {
    grid: gridFlag,
    set: setFlag("training.batch-size=4"),
    backend: {
      kind: "string",
      placeholder: "NAME",
      choices: backendChoices,
      description: `Tensor backend of every run: ${backendChoices.join(", ")} (the pipeline's run.backend).`
    }
  },
  details: [
    "The runs are the file's sweep: section (variants times grid) and the --grid axes, each in the run directory",
    "<run.dir>-<values>, one after another with plain log lines. They share the store .rstn-store beside their",
    "directories (run.store), into which the file's own finished run is filed first: a node with the same key runs",
    "once, so a sweep over test settings trains nothing after one run. `rstn plan FILE` shows what is shared.",
    "Ends with `rstn compare` of the finished runs, in the order of the sweep."
  ].join("\n")
}

export const compareSpec: CommandSpec = {
  name: "compare",
  summary: "Compare finished runs in the paper's Table 1 layout, paired per case against the first.",
  positionals: "RUN_DIR...",
  minPositionals: 1,
  flags: {
    json: { kind: "boolean", description: "Print the comparison as one JSON document." },
    html: { kind: "boolean", description: "Print a self-contained HTML page with the same tables." },
    out: { kind: "string", placeholder: "FILE", description: "Write the output to FILE (atomically) instead of stdout." }
  },
  details: [
    "One row per run: final DSC mean ± std, max and min; the DSC, average rounds and converged cases at",
    "every threshold t a run evaluated; the training nodes' time. Runs 2.. are paired per case with the",
    "first (differences of the final DSC, two-sided Wilcoxon signed-rank p-value). The runs must have been",
    "tested on the same cases. Reads RUN_DIR/summary.json, cases.json and nodes/train/**/node.json."
  ].join("\n")
}

export const validateSpec: CommandSpec = {
  name: "validate",
  summary: "Check pipeline files (schema, extends, overrides, stage order) without running them.",
  positionals: "FILE...",
  minPositionals: 1,
  flags: {
    set: { ...setFlag("training.batch-size=4"), description: "Override a key in every file, e.g. training.batch-size=4." },
    format: {
      kind: "string",
      placeholder: "FORMAT",
      choices: ["text", "json", "github"],
      default: "text",
      description: "text (file:line:col: message), json, or github (GitHub Actions annotations)."
    },
    json: { kind: "boolean", description: "The same as --format json: [{ file, ok, diagnostics }] on stdout." }
  },
  details:
    "Prints every problem as file:line:col: message (hint) and exits 1 if any file has one, 0 when all are valid,\n" +
    "so it can run in CI; --format github makes each problem an annotation on the pull request's line.\n" +
    "Files that `extends` others are checked merged with their bases."
}

export const configSpec: CommandSpec = {
  name: "config",
  summary: "Print a pipeline fully resolved: extends merged, overrides applied, every default filled in.",
  positionals: "FILE",
  minPositionals: 1,
  maxPositionals: 1,
  flags: {
    set: setFlag("test.stages[2].converge-until.threshold=0.95"),
    origins: { kind: "boolean", description: "Comment each value with the file:line (or flag) that set it, or 'default'." }
  },
  details: "The output is itself a valid pipeline file (paths are absolute)."
}

export const schemaSpec: CommandSpec = {
  name: "schema",
  summary: "Print the JSON Schema of pipeline files (for yaml-language-server and other editors).",
  positionals: "",
  maxPositionals: 0,
  flags: {
    out: { kind: "string", placeholder: "FILE", description: "Write it to FILE instead of stdout." }
  },
  details:
    "Draft-07. Use it from a pipeline file with a first line like\n  # yaml-language-server: $schema=./pipeline.schema.json\nFiles with `extends` are partial: every key is optional in them."
}

export const phantomSpec: CommandSpec = {
  name: "phantom",
  summary: "Write a synthetic abdominal CT dataset with a pancreas-like target (Decathlon layout).",
  positionals: "OUT",
  minPositionals: 1,
  maxPositionals: 1,
  flags: {
    cases: { kind: "number", integer: true, placeholder: "N", description: "Number of cases.", default: 20 },
    seed: { kind: "number", integer: true, placeholder: "S", description: "Seed; case i depends only on (seed, i, size).", default: 0 },
    size: {
      kind: "string",
      placeholder: "SIZE",
      choices: PHANTOM_SIZES,
      description: "small (96x96x48), medium (192x192x96) or full (512x512xL, L in 181..466).",
      default: "small"
    },
    format: {
      kind: "string",
      placeholder: "FORMAT",
      choices: ["nifti", "dicom"],
      description: "nifti (Decathlon layout) or dicom (NIH Pancreas-CT layout: DICOM series, NIfTI labels).",
      default: "nifti"
    }
  },
  details: [
    "Writes OUT/dataset.json, OUT/imagesTr/case_NNN.nii.gz (int16 HU) and OUT/labelsTr/case_NNN.nii.gz",
    "(uint8, 1 = target). With --format dicom: OUT/images/PANCREAS_NNNN/phantom-study/ct-series/1-NNN.dcm",
    "(CT Image Storage, explicit VR little endian, int16 with rescale intercept -1024) and",
    "OUT/labels/labelNNNN.nii.gz, numbered from 1, for dataset.source { kind: nih-pancreas }; case i is",
    "the same volume in both formats. OUT must be new, empty or an earlier phantom dataset. Rerunning with",
    "the same arguments keeps the cases already written and completes an interrupted run; the files are",
    "the same bytes either way."
  ].join("\n")
}

export const predictSpec: CommandSpec = {
  name: "predict",
  summary: "Segment new scans with a run's trained networks or a model file (no labels needed).",
  positionals: "RUN_DIR_OR_MODEL",
  minPositionals: 1,
  maxPositionals: 1,
  flags: {
    input: {
      kind: "string",
      short: "i",
      multiple: true,
      greedy: true,
      placeholder: "IMAGE_OR_DIR",
      description: "Scans to segment: .nii/.nii.gz files, or directories of them (required)."
    },
    out: { kind: "string", short: "o", placeholder: "DIR", description: "Where to write DIR/<id>.nii.gz and DIR/<id>.json (required)." },
    fold: { kind: "number", integer: true, placeholder: "N", description: "Use the networks of fold N only." },
    folds: {
      kind: "string",
      placeholder: "all",
      choices: ["all"],
      description: "Average the probability maps of every trained fold, view by view, before each threshold (the default)."
    },
    set: setFlag("test.stages[2].converge-until.threshold=0.95"),
    force: { kind: "boolean", description: "Predict cases again whose mask and JSON exist (they are skipped otherwise)." },
    "save-probabilities": { kind: "boolean", description: "Also write DIR/<id>.probability.nii.gz, the fused score map (float32)." },
    backend: {
      kind: "string",
      placeholder: "NAME",
      choices: backendChoices,
      description: `Tensor backend: ${backendChoices.join(", ")} (the pipeline's run.backend).`
    },
    tui: tuiFlag
  },
  details: [
    "Runs the pipeline's own test stages on each scan: coarse, fuse, then rounds until the",
    "inter-iteration DSC reaches t. Masks keep the scan's grid (dims, affine, qform/sform). A scan",
    "stored in another axis order or direction than the training images is read through the exact",
    "axis permutation and flips its affine gives, and its mask written back on its own grid. A case",
    "that fails (not NIfTI, 4D, oblique) is reported and the others go on; exit code 1 if any did.",
    "Finished cases (mask and JSON written) are skipped, so after Ctrl-C the same command continues.",
    "--set takes test.* (stages, t, rounds), evaluation.oracle and run.backend/threads/max-voxels keys."
  ].join("\n")
}

export const exportSpec: CommandSpec = {
  name: "export",
  summary: "Pack a run's trained networks and test configuration into one portable model file.",
  positionals: "RUN_DIR",
  minPositionals: 1,
  maxPositionals: 1,
  flags: {
    out: { kind: "string", short: "o", placeholder: "FILE", description: "The model file to write, e.g. model.rstn (required)." }
  },
  details: [
    "The file holds the resolved pipeline, the weights of every view, phase and trained fold the",
    "test reads, the intensity window and the training images' orientation, with SHA-256 checksums.",
    "`rstn predict FILE -i ... -o ...` needs nothing else; `rstn inspect FILE` describes it."
  ].join("\n")
}

export const inspectSpec: CommandSpec = {
  name: "inspect",
  summary: "Show what rstn reads from NIfTI files, DICOM series or model files: header, geometry, value range (JSON lines).",
  positionals: "FILE|DIR...",
  minPositionals: 1,
  flags: {
    "max-voxels": {
      kind: "number",
      integer: true,
      placeholder: "N",
      description: "Refuse images with more voxels than this.",
      default: DEFAULT_MAX_VOXELS
    }
  },
  details: [
    "Reads .nii and .nii.gz, NIfTI-1 and NIfTI-2, either byte order, 3D or 4D. Prints per file one",
    "JSON object: path, version, datatype, byte_order, dims, pixdim, spacing, affine (4x4, rows; sform",
    "if sform_code > 0, else qform if qform_code > 0, else pixdim), qform_code, sform_code, scl_slope,",
    "scl_inter, scaled, and min/max/mean of the voxel values after scaling (NaN voxels are left out",
    "and counted in nan_count). A directory is read as one DICOM series (its subdirectories too) and prints",
    "the same keys as its NIfTI twin: version \"dicom\", the stored pixel type as datatype, the rescale as",
    "scl_slope/scl_inter, the affine in NIfTI's RAS convention, plus series_instance_uid, files and",
    "transfer_syntax. A model file (rstn export) shows its pipeline, folds, views, window, orientation,",
    "test stages and weights, after checking its checksums. Exit code 1 if any file could not be read."
  ].join("\n")
}

export const weightsSpec: CommandSpec = {
  name: "weights",
  summary: "List a weights file's tensors (PyTorch, safetensors, rstn), or convert one to rstn's checkpoint format.",
  positionals: "inspect|convert FILE",
  minPositionals: 2,
  maxPositionals: 2,
  flags: {
    map: {
      kind: "string",
      placeholder: "MAP",
      choices: WEIGHT_MAPS,
      default: "none",
      description: "Rename onto rstn's parameters: torchvision-vgg16, organseg-fcn8s, organseg-rstn, or none."
    },
    skip: { kind: "string", multiple: true, placeholder: "PREFIX", description: "Leave out the file's tensors whose names start with PREFIX." },
    out: { kind: "string", placeholder: "FILE", description: "convert: the checkpoint to write." }
  },
  details: [
    "Reads torch.save files (the zip format of PyTorch >= 1.6 and the legacy format of 0.4-1.5) with a",
    "restricted unpickler that builds tensors, dicts and lists only and refuses every other Python global,",
    "safetensors files and rstn checkpoints. inspect prints name, dtype and shape per tensor (with --map:",
    "the rstn parameter each becomes, in rstn's layout). convert writes the mapped tensors as an rstn",
    "checkpoint for networks.pretrained, e.g.",
    "  rstn weights convert vgg16.pth --map torchvision-vgg16 --out fcn8s-imagenet.ckpt"
  ].join("\n")
}

export const doctorSpec: CommandSpec = {
  name: "doctor",
  summary: "Show which tensor backends work on this machine and what to install for the others.",
  positionals: "",
  maxPositionals: 0,
  flags: {
    json: { kind: "boolean", description: "Print the report as one JSON object." },
    backend: {
      kind: "string",
      placeholder: "NAME",
      choices: backendChoices,
      description: `Also fail unless this backend is usable (${backendChoices.join(" | ")}).`
    }
  },
  details:
    "Backends are tried in the order `--backend auto` uses: tfjs-node-gpu, tfjs-node, wasm, cpu.\n" +
    "On wasm, rstn's gradient kernels are checked against the cpu backend."
}

export const nodeRunSpec: CommandSpec = {
  name: "node-run",
  summary: "Run nodes of a run for its driver: what the local and Slurm executors start (not for direct use).",
  positionals: "RUN_DIR [NODE_ID]",
  minPositionals: 1,
  maxPositionals: 2,
  flags: {
    serve: { kind: "boolean", description: "Serve nodes over the IPC channel of the `rstn run` that started this process (a local worker)." },
    key: { kind: "string", placeholder: "KEY", description: "With NODE_ID: the node's key as the driver scheduled it (a Slurm job)." },
    backend: {
      kind: "string",
      placeholder: "NAME",
      choices: backendChoices,
      description: "The tensor backend the driver chose; every node of a run computes on the same one."
    },
    threads: { kind: "number", integer: true, placeholder: "N", description: "wasm threads (1..8) of this process, as the driver chose them from run.threads.", default: 1 }
  },
  details: [
    "`rstn run` starts this itself: with run.executor.workers > 1 as local worker processes",
    "(--serve), with run.executor.kind slurm as one batch job per node (NODE_ID --key KEY). The",
    "process reads RUN_DIR/pipeline.json, compiles the same graph and runs the node it is given over",
    "the shared run directory; the driver alone commits results. On a cluster, RUN_DIR and the",
    "dataset must be at the same paths on every machine."
  ].join("\n")
}
