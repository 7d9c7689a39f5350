package import ArgumentParser
package import CTICore

/// Options every tool has: config file, logging, strictness and the line limit.
package struct CommonOptions: ParsableArguments {
  @Option(name: .long, help: ArgumentHelp("Read settings from this config.yml (default: ./config.yml if present).", valueName: "file"))
  package var config: String?

  @Option(name: .long, help: ArgumentHelp("debug, info, warn (or warning) or error (env CONNECTOR_LOG_LEVEL; default info).", valueName: "level"))
  package var logLevel: String?

  @Option(name: .long, help: ArgumentHelp("text or json lines on stderr, start-up errors and the summary's counts included (env CTI_LOG_FORMAT; default text).", valueName: "format"))
  package var logFormat: String?

  @Flag(name: .long, help: "Stop at the first bad record instead of skipping and counting it.")
  package var strict = false

  @Flag(name: [.short, .long], help: "Only print warnings and errors on stderr (no summary).")
  package var quiet = false

  @Option(name: .long, help: ArgumentHelp("The longest NDJSON line read or written, in bytes or with K/M/G (env CTI_MAX_LINE_BYTES; default 64M). Give every tool of a pipeline the same value.", valueName: "size"))
  package var maxLineBytes: String?

  @Flag(name: .long, help: "Print the settings in force (secrets as ***), each with where it came from, on stdout; then exit without running.")
  package var printConfig = false

  package init() {}

  package var logFlags: LogSettings.Flags { LogSettings.Flags(level: logLevel, format: logFormat, quiet: quiet) }
}

/// The switch every source with a `--state` file has: how the state is committed when the
/// output goes down a pipe.
package struct SourceStateOptions: ParsableArguments {
  @Flag(name: .long, help: "With --state and stdout a pipe: write the state file as soon as the output is flushed, as before checkpoints, instead of leaving it to the last tool of the pipeline (which may then lose records a later stage never applied).")
  package var commitOnWrite = false

  package init() {}
}

/// `--state` of the tools that end a pipeline: where the source's checkpoints are committed.
package struct CheckpointOptions: ParsableArguments {
  @Option(name: .customLong("state"), help: ArgumentHelp("Commit the checkpoints of the input's source into this file (the source's --state file) once the records before them are done with (applied, pushed or written).", valueName: "file"))
  package var path: String?

  package init() {}
}

/// `--input`: the file a tool reads instead of standard input.
package struct InputOptions: ParsableArguments {
  @Option(name: .customLong("input"), help: ArgumentHelp("Read the records from this file instead of standard input ('-': standard input).", valueName: "file"))
  package var path: String?

  package init() {}
}

/// `--max-file-bytes`: the largest file a tool reads from a folder it does not control.
package struct FileLimitOptions: ParsableArguments {
  @Option(name: .customLong("max-file-bytes"), help: ArgumentHelp("Skip, with an error, files larger than this, e.g. 512M (env CTI_MAX_FILE_BYTES; default 256M).", valueName: "size"))
  package var maxFileBytes: String?

  package init() {}
}

/// `--interval`: how a source runs again and again.
package struct ScheduleOptions: ParsableArguments {
  @Option(name: .customLong("interval"), help: ArgumentHelp("Run again this long after each run ends, ISO-8601 or seconds, e.g. PT5M; 0: one run (env CONNECTOR_DURATION_PERIOD; default: one run, or the official connector's period with CONNECTOR_RUN_AND_TERMINATE=false).", valueName: "duration"))
  package var interval: String?

  package init() {}
}

/// `--applicant-mappings`, with cti-push's older `--applicant-map` kept as a hidden alias.
package struct ApplicantMappingsOptions: ParsableArguments {
  @Option(name: .customLong("applicant-mappings"), help: ArgumentHelp("Map the applicants of diode envelopes (users of the source platform) to users of this one, src:dst,… (env DIODE_IMPORT_APPLICANT_MAPPINGS): the user a push impersonates (unmapped: the token's user); in envelopes written out, applicant_id is rewritten (unmapped → null).", valueName: "pairs"))
  var mappings: String?

  @Option(name: .customLong("applicant-map"), help: .hidden)
  var legacyMappings: String?

  package init() {}

  package var value: String? { mappings ?? legacyMappings }
}

/// `on` or `off`, for a default in a help text.
package func onOff(_ value: Bool) -> String { value ? "on" : "off" }

/// A number of seconds as a help text shows it: `45`, `0.5`.
package func seconds(_ value: Double) -> String {
  value == value.rounded() ? String(Int(value)) : String(value)
}

/// `--[no-]durable`: fsync what is written before going on. `--fsync` (cti-backup, cti-diode
/// export) and `--durable-state` (cti-diode import) are the older spellings, kept hidden.
package struct DurableOptions: ParsableArguments {
  @Flag(name: .customLong("durable"), inversion: .prefixedNo, help: "fsync each file written, and its folder, before going on (slower; survives a power cut).")
  var durable: Bool?

  @Flag(name: [.customLong("fsync"), .customLong("durable-state")], inversion: .prefixedNo, help: .hidden)
  var legacy: Bool?

  package init() {}

  /// nil: not given on the command line.
  package var value: Bool? { durable ?? legacy }
}
