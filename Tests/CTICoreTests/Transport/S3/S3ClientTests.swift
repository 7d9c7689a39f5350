import CTITestSupport
import Testing

@testable import CTICore

@Suite struct S3EncodingTests {
  @Test func encodesAsSigV4Wants() {
    #expect(S3Client.encode("connectors/a b+é=~.json", keepSlash: true) == "connectors/a%20b%2B%C3%A9%3D~.json")
    #expect(S3Client.encode("connectors/", keepSlash: false) == "connectors%2F")
  }

  @Test func queryIsSortedAndEncoded() {
    let query = S3Client.canonicalQuery([("prefix", "connectors/"), ("list-type", "2"), ("continuation-token", "a+b=")])
    #expect(query == "continuation-token=a%2Bb%3D&list-type=2&prefix=connectors%2F")
    #expect(S3Client.canonicalQuery([("uploads", "")]) == "uploads=")
  }

  @Test func readsErrorDocuments() {
    let body = Array(
      "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>The key &lt;x&gt; &amp; co&#39;s</Message></Error>".utf8)
    let error = S3Error.from(status: 404, body: body, operation: "GetObject", target: "s3://b/x")
    #expect(error.code == "NoSuchKey")
    #expect(error.message == "The key <x> & co's")
    #expect(error.description == "S3 GetObject s3://b/x: HTTP 404 NoSuchKey: The key <x> & co's")
    #expect(error.exitStatus == .noInput)
  }

  @Test func aCopyAnswered200WithAnErrorDocumentIsAFailure() {
    let failed = Array("<?xml version=\"1.0\"?><Error><Code>InternalError</Code><Message>copy failed</Message></Error>".utf8)
    let error = #expect(throws: S3Error.self) { try S3Client.checkCopied(failed, target: "s3://b/x") }
    #expect(error?.code == "InternalError")
    let copied = Array("<CopyObjectResult><ETag>\"e\"</ETag></CopyObjectResult>".utf8)
    #expect(throws: Never.self) { try S3Client.checkCopied(copied, target: "s3://b/x") }
  }
}

/// Against moto on 127.0.0.1 with signatures checked.
@Suite(.serialized) struct S3ClientMotoTests {
  @Test func putListGetDeleteRoundTrip() throws {
    let moto = try MotoS3.shared()
    let client = S3Client(endpoint: moto.endpoint())
    let bucket = try moto.freshBucket(client)
    let keys = ["connectors/a.json", "connectors/sub/b c+é.json", "other/x.json"]
    for (index, key) in keys.enumerated() {
      try client.putObject(bucket: bucket, key: key, body: Array("{\"n\": \(index)}".utf8))
    }
    let listed = try client.listObjects(bucket: bucket, prefix: "connectors/")
    #expect(listed.map(\.key).sorted() == ["connectors/a.json", "connectors/sub/b c+é.json"])
    #expect(listed.allSatisfy { $0.size == 8 && $0.lastModified > 1_700_000_000 })
    #expect(try client.getObject(bucket: bucket, key: "connectors/sub/b c+é.json") == Array("{\"n\": 1}".utf8))
    try client.deleteObject(bucket: bucket, key: "connectors/a.json")
    #expect(try client.listObjects(bucket: bucket, prefix: "connectors/").map(\.key) == ["connectors/sub/b c+é.json"])
    #expect(try client.listObjects(bucket: bucket, prefix: "").count == 2)
    try client.copyObject(bucket: bucket, key: "connectors/sub/b c+é.json", to: "kept/b c+é.json")
    #expect(try client.getObject(bucket: bucket, key: "kept/b c+é.json") == Array("{\"n\": 1}".utf8))
  }

  @Test func listingFollowsContinuationTokens() throws {
    let moto = try MotoS3.shared()
    let client = S3Client(endpoint: moto.endpoint())
    let bucket = try moto.freshBucket(client)
    // More than one page of 1000 keys.
    for index in 0..<1005 {
      try client.putObject(bucket: bucket, key: "p/\(index).json", body: [0x7B, 0x7D])
    }
    let listed = try client.listObjects(bucket: bucket, prefix: "p/")
    #expect(listed.count == 1005)
    #expect(Set(listed.map(\.key)).count == 1005)
  }

  @Test func aWrongSecretIsRefusedWithTheServiceCode() throws {
    let moto = try MotoS3.shared()
    let good = S3Client(endpoint: moto.endpoint())
    let bucket = try moto.freshBucket(good)
    let bad = S3Client(endpoint: moto.endpoint(secretKey: "not-the-secret"))
    do {
      _ = try bad.listObjects(bucket: bucket, prefix: "connectors/")
      Issue.record("a wrong secret was accepted")
    } catch {
      #expect(error.status == 403)
      #expect(error.code == "SignatureDoesNotMatch")
      #expect(error.exitStatus == .noPermission)
    }
    #expect(throws: S3Error.self) { try bad.putObject(bucket: bucket, key: "k.json", body: [1]) }
  }

  @Test func missingObjectsAndBucketsNameTheProblem() throws {
    let moto = try MotoS3.shared()
    let client = S3Client(endpoint: moto.endpoint())
    let bucket = try moto.freshBucket(client)
    do {
      _ = try client.getObject(bucket: bucket, key: "nope.json")
      Issue.record("missing object read")
    } catch let error as S3Error {
      #expect(error.status == 404)
      #expect(error.code == "NoSuchKey")
    }
    do {
      _ = try client.listObjects(bucket: "no-such-bucket-cti", prefix: "")
      Issue.record("missing bucket listed")
    } catch {
      #expect(error.code == "NoSuchBucket")
    }
  }

  @Test func anUnreachableServiceIsATransportError() throws {
    let client = S3Client(
      endpoint: S3Endpoint(host: "127.0.0.1", port: 9, useSSL: false, accessKey: "a", secretKey: "b"),
      http: HTTPClient(options: { var options = HTTPClientSettings(); options.retry.maxAttempts = 1; return options }()))
    do {
      _ = try client.listObjects(bucket: "b", prefix: "")
      Issue.record("no error")
    } catch {
      #expect(error.transport != nil)
      #expect(error.exitStatus == .unavailable)
    }
  }
}
