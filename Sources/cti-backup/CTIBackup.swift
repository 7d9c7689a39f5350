import ArgumentParser
import CTICore

@main
struct CTIBackup: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "cti-backup", abstract: "placeholder")
  func run() throws {}
}
