/**
 * The few Slurm commands the Slurm executor needs, as a service: submit a batch job (`sbatch`),
 * list this user's queued and running jobs (`squeue`), cancel or signal jobs (`scancel`), and
 * ask how a job that left the queue ended (`scontrol show job`, then the job completion log
 * through `sacct -c`, since clusters without accounting forget a finished job after MinJobAge).
 *
 * `Slurm.layer` runs the real commands; `Slurm.Test` is an in-process stand-in that runs each
 * job's `--wrap` command as a local shell process, so the executor's logic (submission,
 * following, cancelling, adoption on resume) is tested where no cluster is installed.
 */
import { Context, Effect, Layer, Option, Schema } from "effect"
import { type ChildProcess, execFile, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"

export class SlurmError extends Schema.TaggedError<SlurmError>()("SlurmError", {
  /** The command line that failed. */
  command: Schema.String,
  reason: Schema.String,
  hint: Schema.String
}) {
  override get message(): string {
    return `${this.command}: ${this.reason}`
  }
}

/** A job Slurm still holds: queued, running or completing. */
export interface QueuedJob {
  readonly id: string
  /** PENDING, RUNNING, COMPLETING, CONFIGURING, SUSPENDED, ... */
  readonly state: string
  /** The job's comment (the executor marks its jobs with the run directory and node key). */
  readonly comment: string
}

/** How a job ended, when Slurm still knows. */
export interface JobEnd {
  /** COMPLETED, FAILED, CANCELLED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, ... */
  readonly state: string
  /** `exit:signal`, e.g. `1:0`, or `0:15` for a cancelled job. */
  readonly exitCode: string
}

export interface SlurmService {
  /** `sbatch --parsable ARGS`: the new job's id. */
  readonly submit: (args: ReadonlyArray<string>) => Effect.Effect<string, SlurmError>
  /** This user's jobs that are queued or running. */
  readonly queue: Effect.Effect<ReadonlyArray<QueuedJob>, SlurmError>
  /** `scancel` (Slurm's SIGTERM, then SIGKILL after KillWait), or with a signal sent to every process of the jobs. */
  readonly cancel: (ids: ReadonlyArray<string>, signal?: "KILL") => Effect.Effect<void, SlurmError>
  readonly ended: (id: string) => Effect.Effect<Option.Option<JobEnd>>
}

const run = (command: string, args: ReadonlyArray<string>, hint: string): Effect.Effect<string, SlurmError> =>
  Effect.async<string, SlurmError>((resume) => {
    const child = execFile(command, [...args], { encoding: "utf8", timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error === null) return resume(Effect.succeed(stdout))
      const missing = (error as NodeJS.ErrnoException).code === "ENOENT"
      resume(
        Effect.fail(
          new SlurmError({
            command: [command, ...args].join(" ").slice(0, 300),
            reason: missing ? `${command} is not installed here` : (stderr.trim() || error.message).split("\n")[0]!,
            hint: missing ? "run.executor.kind slurm needs the Slurm client commands (sbatch, squeue, scancel) on this machine" : hint
          })
        )
      )
    })
    return Effect.sync(() => void child.kill())
  })

const user = (): string => process.env.USER ?? os.userInfo().username

/** `%i|%T|%k`: the comment goes last, since it is free text. */
export const parseQueue = (text: string): QueuedJob[] =>
  text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => {
      const [id, state, ...comment] = l.split("|")
      return { id: id!.trim(), state: state!.trim(), comment: comment.join("|") }
    })

const cli: SlurmService = {
  submit: (args) =>
    Effect.map(run("sbatch", ["--parsable", ...args], "check the executor's resources (partition, time, mem, gres) against `sinfo`"), (out) =>
      out.trim().split(";")[0]!
    ),
  queue: Effect.map(run("squeue", ["-h", "-u", user(), "-o", "%i|%T|%k"], "is slurmctld reachable? try `squeue` by hand"), parseQueue),
  cancel: (ids, signal) =>
    ids.length === 0 ? Effect.void : Effect.asVoid(run("scancel", [...(signal ? [`--signal=${signal}`, "--full"] : []), ...ids], "cancel them by hand with scancel")),
  ended: (id) =>
    Effect.gen(function* () {
      const shown = yield* Effect.option(run("scontrol", ["show", "job", "-o", id], ""))
      if (Option.isSome(shown)) {
        const state = /\bJobState=(\S+)/.exec(shown.value)?.[1]
        const exitCode = /\bExitCode=(\S+)/.exec(shown.value)?.[1]
        if (state !== undefined) return Option.some({ state, exitCode: exitCode ?? "?" })
      }
      // Gone from slurmctld's memory: the job completion log (JobCompType=jobcomp/filetxt) may know.
      const comp = yield* Effect.option(run("sacct", ["-c", "-n", "-P", "-j", id, "-o", "State,ExitCode"], ""))
      const line = Option.getOrUndefined(comp)?.split("\n").find((l) => l.trim() !== "")
      if (line === undefined) return Option.none()
      const [state, exitCode] = line.split("|")
      return Option.some({ state: state!.split(" ")[0]!, exitCode: exitCode ?? "?" })
    })
}

/** A stand-in for a one-node cluster: jobs start at once, as local `sh -c` processes. */
export const makeFake = (): SlurmService & { readonly submitted: ReadonlyArray<ReadonlyArray<string>> } => {
  let next = 1000
  const jobs = new Map<string, { proc: ChildProcess; comment: string; state: string; exitCode: string }>()
  const submitted: string[][] = []
  const value = (args: ReadonlyArray<string>, name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
  return {
    submitted,
    submit: (args) =>
      Effect.sync(() => {
        submitted.push([...args])
        const id = String(++next)
        const output = (value(args, "output") ?? "/dev/null").replace(/%j/g, id)
        const fd = fs.openSync(output, "a")
        const proc = spawn("sh", ["-c", value(args, "wrap") ?? "false"], { cwd: value(args, "chdir") ?? process.cwd(), stdio: ["ignore", fd, fd] })
        fs.closeSync(fd)
        const job = { proc, comment: value(args, "comment") ?? "", state: "RUNNING", exitCode: "" }
        proc.on("exit", (code, signal) => {
          job.state = signal !== null ? "CANCELLED" : code === 0 ? "COMPLETED" : "FAILED"
          job.exitCode = signal !== null ? `0:${os.constants.signals[signal]}` : `${code}:0`
        })
        jobs.set(id, job)
        return id
      }),
    queue: Effect.sync(() => [...jobs.entries()].filter(([, j]) => j.state === "RUNNING").map(([id, j]) => ({ id, state: j.state, comment: j.comment }))),
    cancel: (ids, signal) =>
      Effect.sync(() => {
        for (const id of ids) jobs.get(id)?.proc.kill(signal === "KILL" ? "SIGKILL" : "SIGTERM")
      }),
    ended: (id) =>
      Effect.sync(() => {
        const j = jobs.get(id)
        return j === undefined || j.state === "RUNNING" ? Option.none() : Option.some({ state: j.state, exitCode: j.exitCode })
      })
  }
}

export class Slurm extends Context.Tag("rstn/Slurm")<Slurm, SlurmService>() {
  /** The cluster this machine's Slurm commands reach. */
  static readonly layer: Layer.Layer<Slurm> = Layer.succeed(Slurm, cli)
  /** Jobs as local processes (see `makeFake`). */
  static readonly Test: Layer.Layer<Slurm> = Layer.sync(Slurm, makeFake)
}
