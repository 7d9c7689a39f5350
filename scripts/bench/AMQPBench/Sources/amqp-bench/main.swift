import CTICore
import Foundation
import Logging

#if canImport(Glibc)
  import Glibc
#endif

// amqp-bench split < bundles.ndjson
//   pycti's split of each bundle, one JSON line per input line:
//   {"expectations":N,"bundles":[<bundle>...],"incompatible":[<id>...]} or {"error":"..."}.
// amqp-bench push HOST PORT USER PASS CONNECTOR_ID FILE
//   pushes every bundle of FILE through AMQPPushTarget (split, expectations, publish with
//   confirms, settle at the end) to the local broker, with an in-process stand-in for the
//   platform's GraphQL answers; prints "messages objects seconds peak_rss_kb".

/// Answers the few GraphQL calls the AMQP target makes, as the platform would.
final class StandInPlatform: GraphQLTransport {
  let config: JSONValue
  var expectations = 0
  init(host: String, port: Int, user: String, password: String, connectorId: String) {
    config = [
      "connection": [
        "host": .string(host), "port": .int(port), "vhost": "/", "use_ssl": false, "user": .string(user),
        "pass": .string(password),
      ],
      "push": .string("push_\(connectorId)"), "push_routing": .string("push_routing_\(connectorId)"),
      "push_exchange": "amqp.worker.exchange", "listen": .string("listen_\(connectorId)"),
      "listen_routing": .string("listen_routing_\(connectorId)"), "listen_exchange": "amqp.connector.exchange",
    ]
  }

  func send(_ request: GraphQLRequest, applicant: String?) throws(OpenCTIError) -> [UInt8] {
    let data: JSONValue
    switch request.operation {
    case .about: data = ["about": ["version": "6.8.10"]]
    case .registerConnector:
      let id = (try? JSONParser.parse(request.body))?["variables"]?["input"]?["id"] ?? .null
      data = ["registerConnector": ["id": id, "connector_state": .null, "connector_user_id": "bench-user", "config": config]]
    case .workAdd: data = ["workAdd": ["id": "work_bench"]]
    case .addExpectations:
      expectations += (try? JSONParser.parse(request.body))?["variables"]?["expectations"]?.intValue ?? 0
      data = ["workEdit": ["addExpectations": "work_bench"]]
    case .workToProcessed: data = ["workEdit": ["toProcessed": "work_bench"]]
    default: throw .badResponse("not expected in the bench", operation: request.operation)
    }
    return JSONWriter.serialize(["data": data])
  }
}

func peakRSSKilobytes() -> Int {
  var usage = rusage()
  getrusage(RUSAGE_SELF.rawValue, &usage)
  return usage.ru_maxrss
}

func fail(_ message: String) -> Never {
  FileHandle.standardError.write(Data("amqp-bench: \(message)\n".utf8))
  exit(1)
}

let arguments = CommandLine.arguments
guard arguments.count >= 2 else { fail("usage: amqp-bench split | push HOST PORT USER PASS CONNECTOR_ID FILE") }

switch arguments[1] {
case "split":
  let reader = LineReader()
  let output = RecordWriter(descriptor: 1)
  while let line = try reader.next() {
    var writer = JSONWriter(capacity: line.bytes.count * 2 + 64)
    do {
      let split = try SplitBundle(try RawObject(line.bytes))
      writer.append("{\"expectations\":")
      writer.write(.int(split.expectations))
      writer.append(",\"bundles\":[")
      for position in 0..<split.count {
        if position > 0 { writer.append(",") }
        split.writeBundle(position, into: &writer)
      }
      writer.append("],\"incompatible\":")
      writer.write(.array(split.incompatible.map { .string($0.id) }))
      writer.append("}")
    } catch {
      writer = JSONWriter()
      writer.append("{\"error\":")
      writer.writeString("\(error)")
      writer.append("}")
    }
    try output.writeRecord(writer.bytes)
  }
  try output.flush()

case "push":
  guard arguments.count == 8, let port = Int(arguments[3]) else { fail("usage: amqp-bench push HOST PORT USER PASS CONNECTOR_ID FILE") }
  var logger = Logger(label: "amqp-bench")
  logger.logLevel = .warning
  let platform = StandInPlatform(host: arguments[2], port: port, user: arguments[4], password: arguments[5], connectorId: arguments[6])
  let session = PushSession(
    client: OpenCTIClient(transport: platform), connector: ConnectorRegistration(id: arguments[6], name: "amqp-bench"))
  var options = AMQPPublisher.Settings()
  if let window = ProcessInfo.processInfo.environment["AMQP_BENCH_WINDOW"].flatMap({ Int($0) }) { options.window = window }
  if let every = ProcessInfo.processInfo.environment["AMQP_BENCH_POLL_EVERY"].flatMap({ Int($0) }) { options.pollEvery = every }
  let target = AMQPPushTarget(session: session, settings: AMQPSettings(), publisherOptions: options, logger: logger)
  try target.start()
  let reader = try LineReader(path: arguments[7])
  let started = MonotonicClock.now()
  var objects = 0
  while let line = try reader.next() {
    let bundle = try RawObject(line.bytes)
    try target.pushBundle(line.bytes, objectCount: bundle.arrayElements("objects")?.count ?? 0, as: nil, applicant: nil)
  }
  try target.settle()
  let seconds = MonotonicClock.now() - started
  objects = platform.expectations
  try target.finish(inError: false, message: "bench")
  target.close()
  var usage = rusage()
  getrusage(RUSAGE_SELF.rawValue, &usage)
  let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
  print("\(target.counts.messages) \(objects) \(String(format: "%.4f", seconds)) \(peakRSSKilobytes()) \(String(format: "%.3f", cpu))")

case "encode":
  // The client's share alone: read, split and build every message body, publish nothing.
  guard arguments.count == 3 else { fail("usage: amqp-bench encode FILE") }
  let reader = try LineReader(path: arguments[2])
  let started = MonotonicClock.now()
  var messages = 0
  var bytes = 0
  while let line = try reader.next() {
    let split = try SplitBundle(try RawObject(line.bytes))
    for position in 0..<split.count {
      var content = JSONWriter(capacity: 4096)
      split.writeBundle(position, into: &content)
      let body = content.withBytes { QueueMessage(applicantId: "bench-user", actionSequence: position + 1, workId: "work_bench").body(bundle: $0) }
      bytes += body.count
      messages += 1
    }
  }
  print("\(messages) \(bytes) \(String(format: "%.4f", MonotonicClock.now() - started))")

default:
  fail("unknown mode \(arguments[1])")
}
