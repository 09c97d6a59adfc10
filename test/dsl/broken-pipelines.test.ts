/**
 * Table of broken pipelines: each is written to a temp dir and loaded as a user would load it;
 * the test asserts every reported problem, exactly as `file:line:col: message (hint)`.
 */
import { Effect, Either } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { loadPipeline } from "../../src/dsl/load.ts"

/** A file's content: text, raw bytes, or something that is not a regular file. */
type Content = string | Buffer | { readonly fifo: true } | { readonly symlink: string } | { readonly directory: true } | { readonly sparseBytes: number }

interface Case {
  readonly name: string
  /** p.yaml's text, or several files (the first is loaded). */
  readonly files: string | Readonly<Record<string, Content>>
  readonly set?: ReadonlyArray<string>
  readonly expected: ReadonlyArray<string>
}

/** A minimal valid pipeline: lines 1-3. */
const HEAD = "name: t\ndataset:\n  source: { kind: phantom, dir: data }\n"

const cases: ReadonlyArray<Case> = [
  // --- the text itself ---------------------------------------------------------------------------
  { name: "empty file", files: "", expected: ["p.yaml:1:1: the file is empty (a pipeline starts with name: and dataset:)"] },
  { name: "only comments", files: "# nothing yet\n", expected: ["p.yaml:1:1: the file is empty (a pipeline starts with name: and dataset:)"] },
  {
    name: "a list instead of a mapping",
    files: "- name: t\n",
    expected: ["p.yaml:1:1: a pipeline is a mapping of keys (name:, dataset:, ...), found a list"]
  },
  {
    name: "YAML syntax error",
    files: HEAD + "views: [X, Y\n",
    expected: ["p.yaml:4:8: the [ opened here is never closed (close it with ]; a list or mapping in brackets may span lines only when they are indented)"]
  },
  {
    name: "tab as indentation",
    files: "name: t\ndataset:\n\tsource: { kind: phantom, dir: data }\n",
    expected: ["p.yaml:3:1: tab used as indentation (YAML indents with spaces only)"]
  },
  {
    name: "duplicate key",
    files: HEAD + "seed: 1\nseed: 2\n",
    expected: ["p.yaml:5:1: duplicate key (each key may appear once in a mapping; remove or merge the repeats)"]
  },
  {
    name: "alias bomb",
    files:
      HEAD +
      "x-a: &a [x, x, x, x, x, x, x, x, x, x]\nx-b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nx-c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nx-d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
    expected: ["p.yaml:6:42: more than 100 alias expansions (a pipeline needs few aliases; this looks like an alias bomb)"]
  },
  { name: "unknown alias", files: HEAD + "views: *views\n", expected: ["p.yaml:4:8: unknown alias *views (define the anchor (&name) before using it)"] },
  { name: "infinite number", files: HEAD + "crop: { threshold: .inf }\n", expected: ["p.yaml:4:20: .inf is not a finite number (pipelines take finite numbers only)"] },
  {
    name: "NaN, and a type error elsewhere in the same file",
    files: HEAD + "training:\n  loss: { lambda: .nan }\n  batch-size: two\n",
    expected: [
      "p.yaml:5:19: .nan is not a finite number (pipelines take finite numbers only)",
      'p.yaml:6:15: training.batch-size: expected a positive integer, got "two"'
    ]
  },
  {
    name: "file over the size limit",
    files: HEAD + "#".repeat(1024 * 1024) + "\n",
    expected: ["p.yaml:1:1: the file is 1048633 bytes; the limit is 1048576 (1 MiB) (a pipeline file is a few hundred lines; is this the right file?)"]
  },
  { name: "unknown tag", files: HEAD + "seed: !random 3\n", expected: ["p.yaml:4:7: unknown tag !random (pipelines use no YAML tags)"] },
  {
    name: "two documents",
    files: HEAD + "---\nname: u\n",
    expected: ["p.yaml:4:1: a second YAML document (---) (a pipeline file holds one document; in a --set value, quote text that contains ---)"]
  },
  // --- schema ------------------------------------------------------------------------------------
  {
    name: "unknown keys, with did-you-mean",
    files: HEAD + "tset: {}\nnetworks:\n  coarse: { widht: 0.5 }\n",
    expected: [
      "p.yaml:4:1: unknown key 'tset' (did you mean 'test'?)",
      "p.yaml:6:13: unknown key 'widht' in networks.coarse (did you mean 'width'?)"
    ]
  },
  { name: "missing name", files: "dataset:\n  source: { kind: phantom, dir: data }\n", expected: ["p.yaml:1:1: missing key 'name'"] },
  {
    name: "missing dataset source kind",
    files: "name: t\ndataset:\n  source: { dir: data }\n",
    expected: ['p.yaml:3:3: missing key \'kind\' in dataset.source (kind is one of "phantom", "decathlon", "pairs", "nih-pancreas", "dicom")']
  },
  {
    name: "wrong types",
    files: HEAD + "seed: -1\ntraining:\n  batch-size: x\n  phases:\n    - { name: S, epochs: 2, saliency: maybe }\n",
    expected: [
      "p.yaml:4:7: seed: expected a non-negative integer, got -1",
      'p.yaml:6:15: training.batch-size: expected a positive integer, got "x"',
      'p.yaml:8:39: training.phases[0].saliency: expected true or false, got "maybe"'
    ]
  },
  {
    name: "misspelt optimizer kind",
    files: HEAD + "training:\n  optimizer: { kind: adamw, lr: 1.0e-3 }\n",
    expected: ['p.yaml:5:22: training.optimizer.kind: expected one of "sgd", "adam", got "adamw" (did you mean "adam"?)']
  },
  {
    name: "an option of the other optimizer kind",
    files: HEAD + "training:\n  optimizer: { kind: adam, momentum: 0.9 }\n",
    expected: ["p.yaml:5:28: unknown key 'momentum' in training.optimizer (known keys: kind, lr, beta1, beta2, epsilon, weight-decay, multipliers)"]
  },
  {
    name: "thresholds outside [0, 1]",
    files: HEAD + "crop: { threshold: 1.5 }\nevaluation: { thresholds: [0.9, 95] }\n",
    expected: [
      "p.yaml:4:20: crop.threshold: expected a number in [0, 1], got 1.5",
      "p.yaml:5:33: evaluation.thresholds[1]: expected a number in [0, 1], got 95"
    ]
  },
  {
    name: "even saliency kernel",
    files: HEAD + "saliency:\n  layers: [{ kernel: 4 }]\n",
    expected: ["p.yaml:5:22: saliency.layers[0].kernel: expected one of 1, 3, 5, 7, got 4"]
  },
  {
    name: "lambda out of range",
    files: HEAD + "training: { loss: { lambda: 2 } }\n",
    expected: ["p.yaml:4:29: training.loss.lambda: expected a number in [0, 1], got 2"]
  },
  {
    name: "window with one number",
    files: "name: t\ndataset:\n  source: { kind: phantom, dir: data }\n  window: [240]\n",
    expected: ["p.yaml:4:11: dataset.window: expected a list of 2 items, got 1"]
  },
  {
    name: "empty views",
    files: HEAD + "views: []\nslice-thickness: 2\n",
    expected: ["p.yaml:4:8: views: expected a non-empty list of X, Y, Z, got an empty list", "p.yaml:5:18: slice-thickness: expected one of 1, 3, got 2"]
  },
  // --- stages ------------------------------------------------------------------------------------
  {
    name: "stage names: unknown, misspelt option, two in one item, nested loop",
    files:
      HEAD +
      "test:\n  stages:\n    - coarse: { weigths: J }\n    - fuze\n    - { fuse: {}, crop: {} }\n    - converge-until: { body: [converge-until] }\n",
    expected: [
      "p.yaml:6:17: unknown key 'weigths' in test.stages[0].coarse (did you mean 'weights'?)",
      "p.yaml:7:7: unknown stage 'fuze' (did you mean 'fuse'?)",
      "p.yaml:8:7: test.stages[2]: a stage is one name with its options, got keys 'fuse', 'crop' (write one stage per list item, e.g. - fuse: { threshold: 0.5 })",
      "p.yaml:9:32: converge-until cannot appear inside converge-until (nested loops are not supported)"
    ]
  },
  {
    name: "converge-until without its options",
    files: HEAD + "test:\n  stages: [coarse, fuse, converge-until]\n",
    expected: ["p.yaml:5:26: test.stages[2]: converge-until needs its options, e.g. converge-until: { ... }"]
  },
  {
    name: "stages out of order",
    files: HEAD + "test:\n  stages:\n    - crop\n    - fine: { weights: K }\n    - converge-until: { body: [fuse] }\n",
    expected: [
      "p.yaml:6:7: test.stages[0]: crop by previous-mask needs a mask before it (put a coarse or a fuse stage before it)",
      "p.yaml:7:24: test.stages[1].fine.weights: no training phase named 'K' (phases that train it: J, I, S)",
      "p.yaml:8:7: test.stages[2]: converge-until needs a fused mask before it (round 0) (put coarse and fuse before it)",
      "p.yaml:8:25: test.stages[2].converge-until.body: converge-until has no fine stage: every round would give the same mask"
    ]
  },
  {
    name: "fine without a crop, and no final fuse",
    files: HEAD + "test:\n  stages: [coarse, fuse, saliency-transform, fine]\n",
    expected: [
      "p.yaml:5:46: test.stages[3]: fine needs a crop before it (put a crop stage before it)",
      "p.yaml:5:46: test.stages[3]: the test must end with a fuse (or a converge-until) to produce a mask"
    ]
  },
  {
    name: "a loop whose body has no fuse",
    files: HEAD + "test:\n  stages:\n    - coarse\n    - fuse\n    - converge-until: { body: [saliency-transform, crop, fine] }\n",
    expected: [
      "p.yaml:8:25: test.stages[2].converge-until.body: converge-until needs a fuse in its body: rounds compare fused masks"
    ]
  },
  {
    name: "fine weights trained with saliency, but no saliency-transform",
    files: HEAD + "test:\n  stages: [coarse, fuse, { converge-until: { body: [crop, fine, fuse] } }]\n",
    expected: [
      "p.yaml:5:59: test.stages[2].converge-until.body[1]: the fine weights of phase J were trained on saliency-weighted input (put saliency-transform before the crop)"
    ]
  },
  // --- cross-field -------------------------------------------------------------------------------
  {
    name: "fold index beyond the folds, repeated",
    files: "name: t\ndataset:\n  source: { kind: phantom, dir: data, cases: 3 }\n  folds: 4\n  fold: [0, 4, 0]\n",
    expected: [
      "p.yaml:3:46: dataset.source.cases: 3 cases cannot fill 4 folds (use at least 4 cases or fewer folds)",
      "p.yaml:5:13: dataset.fold[1]: fold 4 does not exist with 4 folds (folds are numbered 0 to 3)",
      "p.yaml:5:16: dataset.fold[2]: fold 0 is listed twice"
    ]
  },
  {
    name: "window upside down",
    files: "name: t\ndataset:\n  source: { kind: phantom, dir: data }\n  window: [240, -100]\n",
    expected: ["p.yaml:4:11: dataset.window: the low end 240 must be below the high end -100 (write [low, high] in HU, e.g. [-100, 240])"]
  },
  {
    name: "saliency removed but still used by phases and stages",
    files: HEAD + "saliency: null\n",
    expected: [
      "p.yaml:4:1: training.phases[1].saliency: phase I applies saliency but the pipeline has no saliency transform (set saliency: false here, or define saliency.layers)",
      "p.yaml:4:1: training.phases[2].saliency: phase J applies saliency but the pipeline has no saliency transform (set saliency: false here, or define saliency.layers)",
      "p.yaml:4:1: test.stages[2].converge-until.body[0]: saliency-transform, but the pipeline has no saliency transform (saliency: null) (remove this stage or define saliency.layers)"
    ]
  },
  {
    name: "phases: duplicate names, both and neither lengths",
    files: HEAD + "training:\n  phases:\n    - { name: I, saliency: true, epochs: 2, iterations: 10 }\n    - { name: I, saliency: true }\n",
    expected: [
      "p.yaml:6:45: training.phases[0].iterations: phase I gives both epochs and iterations (keep one)",
      "p.yaml:7:7: training.phases[1]: phase I needs epochs or iterations",
      "p.yaml:7:15: training.phases[1].name: phase name I is used twice"
    ]
  },
  {
    name: "bias per channel does not match the slice thickness",
    files: HEAD + "saliency:\n  layers: [{ kernel: 3, init: { bias: [1, 2] } }]\n",
    expected: ["p.yaml:5:39: saliency.layers[0].init.bias: 2 biases for 3 channels (give one number, or 3 (slice-thickness is 3))"]
  },
  {
    name: "stage-wise training with a saliency transform and joint phase names",
    files: HEAD + "training: { mode: stage-wise }\n",
    expected: [
      "p.yaml:4:13: saliency: stage-wise training has no saliency transform (set saliency: null (or training.mode: joint))",
      "p.yaml:4:13: training.phases[0].name: stage-wise phases are named coarse and fine, got 'S'",
      "p.yaml:4:13: training.phases[1].name: stage-wise phases are named coarse and fine, got 'I'",
      "p.yaml:4:13: training.phases[2].name: stage-wise phases are named coarse and fine, got 'J'",
      "p.yaml:4:13: training.phases: stage-wise training needs a phase named coarse",
      "p.yaml:4:13: training.phases: stage-wise training needs a phase named fine"
    ]
  },
  {
    name: "unrolling the stage-wise coarse phase",
    files:
      HEAD +
      "saliency: null\ntraining:\n  mode: stage-wise\n  phases:\n    - { name: coarse, iterations: 10, unroll: { passes: 2 } }\n    - { name: fine, iterations: 10 }\n" +
      "test: { stages: [coarse, fuse, { converge-until: { body: [crop, fine, fuse] } }] }\n",
    expected: ["p.yaml:8:47: training.phases[0].unroll: the stage-wise coarse phase runs no fine pass to unroll (move unroll to the fine phase, or remove it)"]
  },
  {
    name: "strong oracle with the iterative test",
    files: HEAD + "evaluation: { oracle: strong }\n",
    expected: [
      "p.yaml:4:15: test.stages[2]: the strong oracle needs no iteration (remove converge-until (crop by oracle-box, fine, fuse))",
      "p.yaml:4:23: evaluation.oracle: the strong oracle crops by the ground-truth box, but no stage does (use crop: { by: oracle-box })",
      "p.yaml:4:23: evaluation.oracle: the strong oracle also weights by the ground truth, but no stage does (use saliency-transform: { from: oracle })"
    ]
  },
  {
    name: "oracle box without an oracle test",
    files: HEAD + "test:\n  stages: [coarse, fuse, { converge-until: { body: [saliency-transform, { crop: { by: oracle-box } }, fine, fuse] } }]\n",
    expected: ["p.yaml:5:73: test.stages[2].converge-until.body[1]: cropping by the ground-truth box is an oracle test (set evaluation.oracle: strong or weak)"]
  },
  // --- extends, set, --set -----------------------------------------------------------------------
  {
    name: "extends cycle",
    files: { "a.yaml": "extends: ./b.yaml\nname: a\n", "b.yaml": "extends: ./a.yaml\nname: b\n" },
    expected: ["b.yaml:1:10: extends cycle: a.yaml -> b.yaml -> a.yaml (a pipeline cannot extend itself, directly or through others)"]
  },
  {
    name: "extends a missing file",
    files: { "p.yaml": "extends: ./nope.yaml\nname: p\n" },
    expected: ["p.yaml:1:10: cannot read nope.yaml: no such file"]
  },
  { name: "extends not a path", files: "extends: [a.yaml]\nname: p\n", expected: ["p.yaml:1:10: extends: expected the path of a pipeline file, got a list (e.g. extends: ./rstn-best.yaml)"] },
  {
    name: "an error in the base is reported in the base file, at its line",
    files: { "p.yaml": "extends: ./base.yaml\nname: p\n", "base.yaml": HEAD + "crop:\n  margin: -1\n" },
    expected: ["base.yaml:5:11: crop.margin: expected a non-negative integer, got -1"]
  },
  {
    name: "a variant that keeps its base's name",
    files: { "p.yaml": "extends: ./base.yaml\nseed: 3\n", "base.yaml": HEAD },
    expected: ["p.yaml:1:1: name: 't' is inherited from base.yaml; a variant needs its own name, or its runs would share runs/t (add name: ... to this file (or set run.dir))"]
  },
  {
    name: "set block: bad path and missing list item",
    files: HEAD + "set:\n  test..x: 1\n  test.stages[1].fuse.threshold: 0.6\n",
    expected: [
      "p.yaml:5:3: set: bad path 'test..x' at '.x'",
      "p.yaml:6:3: set: cannot set test.stages[1].fuse.threshold: test.stages is not written in the file (it has its default), so it has no item [1] to change"
    ]
  },
  {
    name: "--set with a wrong type, an unparsable value, a bad path and an unknown key",
    files: HEAD,
    set: ["training.batch-size=x", "views=[X,", "a..b=1", "trainig.seed=1"],
    expected: [
      "--set views=[X,:1:13: cannot read the value: the [ opened here is never closed (close it with ]; a list or mapping in brackets may span lines only when they are indented)",
      "--set a..b=1:1:9: bad path 'a..b' at '.b'",
      "--set trainig.seed=1:1:7: unknown key 'trainig' (did you mean 'training'?)",
      '--set training.batch-size=x:1:27: training.batch-size: expected a positive integer, got "x"'
    ]
  },
  {
    name: "--set into a scalar and past the end of a list",
    files: HEAD + "views: [X]\n",
    set: ["name.first=a", "views[3]=Y"],
    expected: [
      "--set name.first=a:1:7: cannot set name.first: name is \"t\", not a mapping or list",
      "--set views[3]=Y:1:7: cannot set views[3]: index 3 is out of range: views has 1 item"
    ]
  },
  // --- adversarial inputs (issue 12): each ends in a located error within a second ----------------
  { name: "validating a named pipe", files: { "p.yaml": { fifo: true } }, expected: ["p.yaml:1:1: cannot read p.yaml: it is a named pipe (FIFO), not a regular file"] },
  {
    name: "extends a named pipe",
    files: { "p.yaml": "extends: ./pipe.yaml\nname: p\n", "pipe.yaml": { fifo: true } },
    expected: ["p.yaml:1:10: cannot read pipe.yaml: it is a named pipe (FIFO), not a regular file"]
  },
  { name: "validating /dev/zero", files: { "p.yaml": { symlink: "/dev/zero" } }, expected: ["p.yaml:1:1: cannot read p.yaml: it is a device, not a regular file"] },
  {
    name: "extends /dev/zero",
    files: { "p.yaml": "extends: /dev/zero\nname: p\n" },
    expected: ["p.yaml:1:10: cannot read /dev/zero: it is a device, not a regular file"]
  },
  { name: "validating a directory", files: { "p.yaml": { directory: true } }, expected: ["p.yaml:1:1: cannot read p.yaml: it is a directory"] },
  {
    name: "a 10 GB file is refused by its size, unread",
    files: { "p.yaml": { sparseBytes: 10 * 2 ** 30 } },
    expected: ["p.yaml:1:1: the file is 10737418240 bytes; the limit is 1048576 (1 MiB) (a pipeline file is a few hundred lines; is this the right file?)"]
  },
  {
    name: "__proto__ does not supply a missing name",
    files: "__proto__: { name: x }\ndataset:\n  source: { kind: phantom, dir: data }\n",
    expected: [
      "p.yaml:1:1: unknown key '__proto__' (known keys: name, seed, dataset, views, slice-thickness, networks, saliency, crop, training, test, evaluation, run, extends, set, sweep)",
      "p.yaml:1:1: missing key 'name'"
    ]
  },
  {
    name: "__proto__ and constructor are unknown keys anywhere",
    files: HEAD + "crop: { __proto__: { margin: 3 }, constructor: 1 }\n",
    expected: [
      "p.yaml:4:9: unknown key '__proto__' in crop (known keys: threshold, margin, jitter)",
      "p.yaml:4:35: unknown key 'constructor' in crop (known keys: threshold, margin, jitter)"
    ]
  },
  {
    name: "__proto__ through --set",
    files: HEAD,
    set: ["__proto__.name=x", "toString=1"],
    expected: [
      "--set __proto__.name=x:1:7: unknown key '__proto__' (known keys: name, seed, dataset, views, slice-thickness, networks, saliency, crop, training, test, evaluation, run, extends, set, sweep)",
      "--set toString=1:1:7: unknown key 'toString' (known keys: name, seed, dataset, views, slice-thickness, networks, saliency, crop, training, test, evaluation, run, extends, set, sweep)"
    ]
  },
  {
    name: "integers beyond 2^53 are out of range, quoted as written",
    files: HEAD + "seed: 9007199254740993\ntraining: { batch-size: 1.0e20, checkpoint-every: -9007199254740993 }\n",
    expected: [
      "p.yaml:4:7: seed: 9007199254740993 is out of range: the largest integer allowed is 9007199254740991 (2^53 - 1)",
      "p.yaml:5:25: training.batch-size: 100000000000000000000 is out of range: the largest integer allowed is 9007199254740991 (2^53 - 1)",
      "p.yaml:5:51: training.checkpoint-every: -9007199254740993 is out of range: the smallest integer allowed is -9007199254740991 (-(2^53 - 1))"
    ]
  },
  {
    name: "3,000 nested flow lists",
    files: HEAD + "crop: " + "[".repeat(3000) + "]".repeat(3000) + "\n",
    expected: ["p.yaml:4:70: mappings and lists nested deeper than 64 levels (a pipeline nests about 8 levels; is this the right file?)"]
  },
  {
    name: "3,000 nested block lists",
    files: HEAD + "crop:\n  " + "- ".repeat(3000) + "1\n",
    expected: ["p.yaml:5:129: mappings and lists nested deeper than 64 levels (a pipeline nests about 8 levels; is this the right file?)"]
  },
  {
    name: "3,000 nested flow mappings",
    files: HEAD + "crop: " + "{a: ".repeat(3000) + "1" + "}".repeat(3000) + "\n",
    expected: ["p.yaml:4:259: mappings and lists nested deeper than 64 levels (a pipeline nests about 8 levels; is this the right file?)"]
  },
  {
    name: "aliases that nest deeper than the bound",
    files:
      HEAD +
      // Each anchor holds the previous one 6 lists deeper: no line nests more than 7 levels.
      Array.from({ length: 12 }, (_, i) => `x${i}: &a${i} [[[[[[${i === 0 ? "1" : `*a${i - 1}`}]]]]]]\n`).join(""),
    expected: ["p.yaml:14:17: aliases nest mappings and lists deeper than 64 levels (a pipeline nests about 8 levels)"]
  },
  {
    name: "a deeply nested --set value",
    files: HEAD,
    set: ["crop=" + "[".repeat(3000) + "]".repeat(3000)],
    expected: ["--set crop=" + "[".repeat(3000) + "]".repeat(3000) + ":1:76: the value nests mappings and lists deeper than 64 levels"]
  },
  {
    name: "CR-only line ends",
    files: "name: t\rdataset:\r  source: { kind: phantom, dir: data }\rcrop: { margni: 1 }\r",
    expected: ["p.yaml:4:9: unknown key 'margni' in crop (did you mean 'margin'?)"]
  },
  {
    name: "CR LF line ends",
    files: "name: t\r\ndataset:\r\n  source: { kind: phantom, dir: data }\r\ncrop: { margni: 1 }\r\n",
    expected: ["p.yaml:4:9: unknown key 'margni' in crop (did you mean 'margin'?)"]
  },
  {
    name: "a byte order mark does not shift line 1",
    files: "\uFEFFcrop: 1\n" + HEAD,
    expected: ["p.yaml:1:7: crop: expected a mapping, got 1"]
  },
  {
    name: "an unterminated double quote, at its opening",
    files: 'name: "t\ndataset:\n  source: { kind: phantom, dir: data }\n',
    expected: ['p.yaml:1:7: the " opened here is never closed (end the string with ")']
  },
  {
    name: "an unterminated single quote, at its opening",
    files: HEAD + "run: { dir: 'runs/x }\n",
    expected: ["p.yaml:4:13: the ' opened here is never closed (end the string with ')"]
  },
  {
    name: "an unclosed flow mapping, at its opening",
    files: HEAD + "crop: { margin: 3\nseed: 1\n",
    expected: ["p.yaml:4:7: the { opened here is never closed (close it with }; a list or mapping in brackets may span lines only when they are indented)"]
  },
  {
    name: "a binary file",
    files: { "p.yaml": Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256)) },
    expected: ["p.yaml:1:1: the file is not a text file: its bytes are not UTF-8 (a pipeline is a YAML text file; is this the right file?)"]
  },
  {
    name: "UTF-8 with control characters",
    files: HEAD + "name: a\u0000b\n",
    expected: ["p.yaml:4:8: not a text file: it holds binary data (a control character here) (a pipeline is a YAML text file; is this the right file?)"]
  },
  {
    name: "extends a binary file",
    files: { "p.yaml": "extends: ./model.bin\nname: p\n", "model.bin": Buffer.from([0x89, 0x50, 0x4e, 0x47, 0xff, 0xfe, 0x00, 0x01]) },
    expected: ["p.yaml:1:10: model.bin is not a text file: its bytes are not UTF-8 (a pipeline is a YAML text file; is this the right file?)"]
  },
  {
    name: "a long value is quoted by its start only",
    files: HEAD + "views: " + "x".repeat(5000) + "\n",
    expected: ['p.yaml:4:8: views: expected a non-empty list of X, Y, Z, got "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx..." (5000 characters)']
  },
  {
    name: "--set of an index on the pipeline, of extends and of set",
    files: HEAD,
    set: ["[0]=x", "extends=./base.yaml", "set.seed=1"],
    expected: [
      "--set [0]=x:1:7: cannot set [0]: the pipeline is a mapping; use a key, not [0]",
      "--set extends=./base.yaml:1:7: extends cannot be changed with --set: it names the file a variant starts from (write extends: in a variant file, or validate the base file itself)",
      "--set set.seed=1:1:7: set cannot be changed with --set: it is a file's block of overrides (write the path itself, e.g. --set training.batch-size=4)"
    ]
  },
  {
    name: "a set: block that sets extends",
    files: HEAD + "set:\n  extends: ./other.yaml\n",
    expected: ["p.yaml:5:3: set: extends cannot be changed in a set: block: it names the file a variant starts from (write extends: at the top of the file)"]
  },
  {
    name: "a --set value holding a document separator",
    files: HEAD,
    set: ["name=a\n---\nb"],
    expected: ["--set name=a\n---\nb:1:14: cannot read the value: a second YAML document (---) (a pipeline file holds one document; in a --set value, quote text that contains ---)"]
  },
  {
    name: "an unterminated quote in a --set value",
    files: HEAD,
    set: ['name="abc'],
    expected: ['--set name="abc:1:12: cannot read the value: the " opened here is never closed (end the string with ")']
  },
  {
    name: "a type error in one section, cross-field problems in three others",
    files:
      "name: t\ndataset:\n  source: { kind: phantom, dir: data, cases: 3 }\ntraining: { batch-size: x }\nevaluation: { thresholds: [0.9, 0.9] }\nviews: [X, X]\n",
    expected: [
      "p.yaml:3:46: dataset.source.cases: 3 cases cannot fill 4 folds (use at least 4 cases or fewer folds)",
      'p.yaml:4:25: training.batch-size: expected a positive integer, got "x"',
      "p.yaml:5:33: evaluation.thresholds[1]: threshold 0.9 is listed twice",
      "p.yaml:6:12: views[1]: view X is listed twice"
    ]
  },
  {
    name: "100,000 values: refused before they are parsed",
    files: HEAD + "views: [" + Array<string>(100_000).fill("X").join(", ") + "]\n",
    expected: ["p.yaml:4:79978: more than 20000 values (a pipeline holds a few hundred; is this the right file?)"]
  },
  {
    name: "a mapping of 9,000 unknown keys: the first 100 problems and a count of the rest",
    files: HEAD + "crop:\n" + Array.from({ length: 9000 }, (_, i) => `  x${i}: 1\n`).join(""),
    expected: [
      ...Array.from({ length: 100 }, (_, i) => `p.yaml:${5 + i}:3: unknown key 'x${i}' in crop (known keys: threshold, margin, jitter)`),
      "p.yaml:105:3: and 8900 more problems in p.yaml and the files it extends (fix the first ones; is this the right file?)"
    ]
  },
  {
    name: "9,000 repeated keys, reported without comparing each with every other",
    files: HEAD + "crop:\n" + "  margin: 1\n".repeat(9000),
    expected: [
      ...Array.from({ length: 100 }, (_, i) => `p.yaml:${6 + i}:3: duplicate key (each key may appear once in a mapping; remove or merge the repeats)`),
      "p.yaml:106:3: and 8899 more problems in p.yaml and the files it extends (fix the first ones; is this the right file?)"
    ]
  },
  {
    name: "a key of a million characters is quoted by its start",
    files: HEAD + "crop: { " + "k".repeat(1_000_000) + ": 1 }\n",
    expected: ["p.yaml:4:9: unknown key 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...' (1000000 characters) in crop (known keys: threshold, margin, jitter)"]
  },
  {
    name: "backend gpu suggests node-gpu",
    files: HEAD + "run: { backend: gpu }\n",
    expected: ['p.yaml:4:17: run.backend: expected one of "auto", "node-gpu", "node", "wasm", "cpu", got "gpu" (did you mean "node-gpu"?)']
  },
  {
    name: "listed cases outside the dataset directory",
    files: "name: t\ndataset:\n  source:\n    kind: pairs\n    base: /data/pancreas\n    pairs: [{ image: ../ct.nii.gz, label: /etc/passwd }, { image: a.nii, label: b.nii }]\n  folds: 2\n",
    expected: [
      "p.yaml:6:22: dataset.source.pairs[0].image: '../ct.nii.gz' is outside the dataset directory /data/pancreas (list files inside dataset.source.base, relative to it, or set base to a directory that holds them)",
      "p.yaml:6:43: dataset.source.pairs[0].label: '/etc/passwd' is outside the dataset directory /data/pancreas (list files inside dataset.source.base, relative to it, or set base to a directory that holds them)"
    ]
  },
  {
    name: "a run directory inside the dataset",
    files: "name: t\ndataset:\n  source: { kind: decathlon, root: /data/Task07_Pancreas }\nrun: { dir: /data/Task07_Pancreas/runs/t }\n",
    expected: [
      "p.yaml:4:13: run.dir: the run directory /data/Task07_Pancreas/runs/t is inside the dataset directory /data/Task07_Pancreas: a run would write its files among the data (choose a run directory outside the dataset, e.g. run.dir: runs/{name})"
    ]
  },
  {
    name: "a run directory among NIH Pancreas-CT's labels",
    files: "name: t\ndataset:\n  source: { kind: nih-pancreas, images: /data/Pancreas-CT, labels: /data/labels }\nrun: { dir: /data/labels/runs/t }\n",
    expected: [
      "p.yaml:4:13: run.dir: the run directory /data/labels/runs/t is inside the dataset directory /data/labels: a run would write its files among the data (choose a run directory outside the dataset, e.g. run.dir: runs/{name})"
    ]
  },
  {
    name: "DICOM series outside the dataset directory",
    files: "name: t\ndataset:\n  source:\n    kind: dicom\n    base: /data/nih\n    pairs: [{ series: ../PANCREAS_0001, label: label0001.nii.gz }, { series: s, label: l.nii }]\n  folds: 2\n",
    expected: [
      "p.yaml:6:23: dataset.source.pairs[0].series: '../PANCREAS_0001' is outside the dataset directory /data/nih (list files inside dataset.source.base, relative to it, or set base to a directory that holds them)"
    ]
  },
  {
    name: "a run directory under a system directory, and the root",
    files: HEAD + "run: { dir: /usr/lib/rstn }\n",
    set: ["run.dir=/"],
    expected: ["--set run.dir=/:1:15: run.dir: the run directory is the file system's root / (write runs to a directory of your own, e.g. run.dir: runs/{name})"]
  },
  {
    name: "a run directory under a system directory",
    files: HEAD + "run: { dir: /usr/lib/rstn }\n",
    expected: ["p.yaml:4:13: run.dir: the run directory /usr/lib/rstn is under the system directory /usr (write runs to a directory of your own, e.g. run.dir: runs/{name})"]
  }
]


let dir = ""
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-broken-"))
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

/** As render-error.ts prints it, with the temp directory taken out of file names. */
const render = (d: { file: string; line: number; col: number; message: string; hint?: string }): string =>
  `${d.file}:${d.line}:${d.col}: ${d.message}${d.hint ? ` (${d.hint})` : ""}`.replaceAll(`${caseDir}${path.sep}`, "")
let caseDir = ""

const write = (file: string, content: Content): void => {
  if (typeof content === "string" || Buffer.isBuffer(content)) fs.writeFileSync(file, content)
  else if ("fifo" in content) execFileSync("mkfifo", [file])
  else if ("symlink" in content) fs.symlinkSync(content.symlink, file)
  else if ("directory" in content) fs.mkdirSync(file)
  else fs.truncateSync((fs.writeFileSync(file, ""), file), content.sparseBytes)
}

describe("broken pipelines", () => {
  it("has at least 30 cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(30)
  })
  cases.forEach((c, i) => {
    it(c.name, async () => {
      caseDir = path.join(dir, String(i))
      fs.mkdirSync(caseDir)
      const files = typeof c.files === "string" ? { "p.yaml": c.files } : c.files
      for (const [name, content] of Object.entries(files)) write(path.join(caseDir, name), content)
      const main = path.join(caseDir, Object.keys(files)[0]!)
      const started = performance.now()
      const cpu = process.cpuUsage()
      const result = await Effect.runPromise(Effect.either(loadPipeline(main, c.set ?? [])))
      // Never a long read or parse: every input is answered within a second of CPU time (the wall
      // time of a machine busy with other work says little), and never a hang (a blocked read
      // takes no CPU, so the wall time has a bound too).
      const used = process.cpuUsage(cpu)
      expect((used.user + used.system) / 1000).toBeLessThan(1000)
      expect(performance.now() - started).toBeLessThan(10_000)
      expect(Either.isLeft(result)).toBe(true)
      if (Either.isLeft(result)) expect(result.left.diagnostics.map(render)).toEqual(c.expected)
    })
  })
})
