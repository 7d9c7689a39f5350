#!/usr/bin/env python3
"""Writes synthetic MISP events (NDJSON, one {"Event": ...} per line) that between them reach
every branch of cti-misp's conversion: every attribute type and odd value, every tag and galaxy
kind, sightings, objects and their references, event reports, attachments, an event without
anything to reference, one without object descriptions, one over the 10,000-attribute limit for
relationships. scripts/bench/misp-identical.sh converts them under every option set."""
import json
import sys

ORG = {"name": "Example CERT", "uuid": "c0c0c0c0-0000-4000-8000-000000000000"}


def uuid(event, n):
    return "%08x-%04x-4%03x-8000-%012x" % (event, n, event, n)


def attribute(event, n, type_, value, category="Network activity", **extra):
    item = {"uuid": uuid(event, n), "type": type_, "category": category, "value": value, "to_ids": True,
            "comment": "", "timestamp": str(1709290000 + n)}
    item.update(extra)
    return item


def tags(*names):
    return [{"name": name} for name in names]


def galaxy(namespace, name, *clusters):
    return {"namespace": namespace, "name": name, "GalaxyCluster": list(clusters)}


def everything():
    e = 0xE1
    attributes = [
        attribute(e, 1, "md5", "0749bae92ca336a02c83d126e04ec628", "Payload delivery", comment="a \"quoted\" comment"),
        attribute(e, 2, "sha1", "b" * 40, "Payload delivery", to_ids="0"),
        attribute(e, 3, "sha256", "c" * 64, "Payload delivery", to_ids=None),
        attribute(e, 4, "sha256", "d" * 40, "Payload delivery", to_ids=1),
        attribute(e, 5, "md5", "  " + "e" * 32 + " ", "Payload delivery"),
        attribute(e, 6, "filename", "dröpper.exe", "Payload delivery", comment="ünïcode\tand tab"),
        attribute(e, 7, "pdb", "C:\\build\\x.pdb", "Artifacts dropped"),
        attribute(e, 8, "filename|sha1", "a.dll|" + "f" * 40, "Payload delivery"),
        attribute(e, 9, "filename|sha256", "b.dll|" + "1" * 64, "Payload delivery"),
        attribute(e, 10, "filename|md5", "no-bar-here", "Payload delivery"),
        attribute(e, 11, "filename|md5", "c.dll|nothex", "Payload delivery"),
        attribute(e, 12, "malware-sample", "sample.zip|" + "2" * 32, "Payload delivery"),
        attribute(e, 13, "ip-src", "198.51.100.1"),
        attribute(e, 14, "ip-dst", "2001:db8::1"),
        attribute(e, 15, "ip-dst", "203.0.113[.]9"),
        attribute(e, 16, "ip-dst", "198.51.100.7:8080"),
        attribute(e, 17, "ip-dst", "192.0.2.0/33"),
        attribute(e, 18, "ip-src|port", "198.51.100.2|4444"),
        attribute(e, 19, "ip-dst|port", "2001:db8::2|443"),
        attribute(e, 20, "ip-dst|port", "198.51.100.3|99999"),
        attribute(e, 21, "ip-dst|port", "nothing"),
        attribute(e, 22, "hostname", "host.example.net"),
        attribute(e, 23, "hostname|port", "host.example.net|8080"),
        attribute(e, 24, "domain", "_dmarc.example.com"),
        attribute(e, 25, "domain", "bücher.example"),
        attribute(e, 26, "domain|ip", "c2.example.net|198.51.100.7"),
        attribute(e, 27, "domain|ip", "c2.example.org|not-an-ip"),
        attribute(e, 28, "domain|ip", "a|b|c"),
        attribute(e, 29, "email", "a@example.com", "Payload delivery"),
        attribute(e, 30, "email-src", "b@example.com", "Payload delivery"),
        attribute(e, 31, "email-dst", "not an address", "Payload delivery"),
        attribute(e, 32, "whois-registrant-email", "c@example.com", "Attribution"),
        attribute(e, 33, "email-subject", "Invoice \\ due", "Payload delivery"),
        attribute(e, 34, "url", "http://c2.example.net/a'b\\c"),
        attribute(e, 35, "url", "c2.example.net/no-scheme"),
        attribute(e, 36, "windows-scheduled-task", "Updater", "Artifacts dropped"),
        attribute(e, 37, "regkey", "HKLM\\Software\\Run\\x", "Persistence mechanism"),
        attribute(e, 38, "regkey", "hkcu/Software/y", "Persistence mechanism"),
        attribute(e, 39, "user-agent", "Mozilla/5.0 (X11)"),
        attribute(e, 40, "phone-number", "+33 1 23 45 67 89", "Other"),
        attribute(e, 41, "text", "  free text  ", "Other"),
        attribute(e, 42, "github-username", "octocat", "Social network"),
        attribute(e, 43, "full-name", "Jane Doe", "Attribution", comment="the analyst"),
        attribute(e, 44, "yara", "rule x { condition: true }", "Payload installation", comment="ab"),
        attribute(e, 45, "sigma", "title: y", "Payload installation", comment="a longer sigma comment"),
        attribute(e, 46, "yara", "rule z { condition: false }", "Payload installation"),
        attribute(e, 47, "mutex", "Global\\m", "Artifacts dropped"),
        attribute(e, 48, "link", "https://blog.example.com/post", "External analysis"),
        attribute(e, 49, "link", "see the vendor blog", "External analysis"),
        attribute(e, 50, "link", "https://example.com/other", "Network activity"),
        attribute(e, 51, "attachment", "report.pdf", "External analysis", data="JVBERi0xLjQK"),
        attribute(e, 52, "attachment", "notes.txt", "External analysis", data="aGVsbG8="),
        attribute(e, 53, "attachment", "empty.PDF", "External analysis", data=None),
        attribute(e, 54, "domain", 12345),
        attribute(e, 55, "domain", "ab"),
        attribute(e, 56, "domain", "sighted.example.com", Sighting=[
            {"date_sighting": "1709300100", "type": "0", "Organisation": {"name": "Other CERT"}},
            {"date_sighting": 1709300200, "type": "0", "Organisation": {"name": "Third CERT"}},
            {"date_sighting": "1709300300", "type": "0", "Organisation": {"name": "Example CERT"}},
            {"type": "0", "Organisation": {"name": "Undated CERT"}},
            {"date_sighting": "1709300400"}]),
        attribute(e, 57, "ip-src", "198.51.100.57", Tag=tags(
            "tlp:red", "misp-galaxy:sector=\"Finance\"", "intrusion-set:Turla", "type:OSINT", "marking:PAP=PAP:RED"),
            Galaxy=[galaxy("misp", "Country", {"value": "france", "description": "France", "meta": {"ISO": "FR"}})]),
        attribute(e, 58, "domain", "tagged.example.com", Tag=tags("estimative-language:likelihood=\"likely\""),
                  Sighting=[{"date_sighting": "1709300500", "Organisation": {"name": "Other CERT"}}]),
        attribute(e, 59, "domain", "tagged.example.com", comment="same value again", to_ids=False),
        attribute(e, 60, "hostname", "x.example.com", Tag=[]),
        attribute(e, 61, "md5", "0749bae92ca336a02c83d126e04ec628", "Payload delivery", timestamp=None),
    ]
    objects = [
        {"uuid": uuid(e, 100), "name": "file", "description": "File object", "Attribute": [
            attribute(e, 101, "filename", "dropper.exe", "Payload delivery"),
            attribute(e, 102, "sha1", "b" * 40, "Payload delivery"),
            attribute(e, 103, "link", "https://ref.example.com/x", "External analysis"),
            attribute(e, 104, "attachment", "inner.pdf", "External analysis", data="JVBERi0="),
        ], "ObjectReference": [
            {"source_uuid": uuid(e, 100), "object_uuid": uuid(e, 100), "referenced_uuid": uuid(e, 110),
             "relationship_type": "communicates-with", "comment": "beacon"},
            {"source_uuid": uuid(e, 100), "referenced_uuid": uuid(e, 13), "relationship_type": "drops", "comment": ""},
            {"referenced_uuid": uuid(e, 999), "relationship_type": "x"},
        ]},
        {"uuid": uuid(e, 110), "name": "domain-ip", "description": None, "Attribute": [
            attribute(e, 111, "domain", "update.example.net"),
            attribute(e, 112, "ip-dst", "192.0.2.44"),
        ], "ObjectReference": [
            {"object_uuid": uuid(e, 110), "referenced_uuid": uuid(e, 100), "relationship_type": "related-to"},
        ]},
        {"uuid": uuid(e, 120), "name": "empty", "description": "nothing inside", "Attribute": []},
        {"uuid": uuid(e, 130), "name": "text", "description": "Same text", "Attribute": [
            attribute(e, 131, "text", "  free text  ", "Other")]},
    ]
    reports = [
        {"name": "Summary", "timestamp": "1709300600", "content":
            "See @[attribute](%s) and @[object](%s), @[tag](tlp:green), @[attribute](%s), "
            "@[object](nope) and @[tag]() and @[other](x)." % (uuid(e, 1), uuid(e, 100), uuid(e, 999))},
        {"name": None, "timestamp": 1709300700, "content": "Second note"},
        {"name": "Deleted", "deleted": True, "timestamp": "1709300800", "content": "gone"},
        {"name": "Empty", "timestamp": "1709300900", "content": "   "},
        {"name": {"odd": 1}, "content": "no timestamp"},
    ]
    event_galaxies = [
        galaxy("mitre-attack", "Intrusion Set",
               {"value": "APT29 - G0016", "description": "Russian group", "meta": {"synonyms": ["Cozy Bear", "The Dukes"]}},
               {"value": "APT29 - G0016"}),
        galaxy("misp", "Threat Actor", {"value": "APT 28", "description": None}),
        galaxy("misp", "Microsoft Activity Group actor", {"value": "STRONTIUM"}),
        galaxy("mitre-attack", "Tool", {"value": "Mimikatz - S0002", "description": "creds"}),
        galaxy("mitre-attack", "Malware", {"value": "X-Agent - S0161", "meta": {"synonyms": ["Sofacy"]}}),
        galaxy("misp", "Ransomware", {"value": "Ryuk"}),
        galaxy("misp", "Android", {"value": "Anubis"}),
        galaxy("mitre-attack", "Attack Pattern",
               {"value": "Phishing - T1566", "meta": {"external_id": ["T1566"]}, "description": "phish"},
               {"value": "Valid Accounts - T1078"}),
        galaxy("misp", "Sector", {"value": "Energy", "description": "power"}),
        galaxy("misp", "Country", {"value": "germany", "description": "Germany", "meta": {"ISO": "DE"}},
               {"value": "nowhere", "description": "Nowhere"}),
        galaxy("misp", "Unknown", {"value": "ignored"}),
        {"name": "no namespace"},
    ]
    return {"Event": {
        "uuid": uuid(e, 0), "info": "Everything \"at once\" – ünïcode", "date": "2024-03-01", "timestamp": "1709300000",
        "threat_level_id": 1, "Orgc": ORG,
        "Tag": tags("tlp:amber", "TLP:AMBER", "tlp:amber+strict", "tlp:clear", "marking:PAP=PAP:AMBER",
                    "marking:TLP:X=TLP:Y", "marking:bad", "creator=Analyst Team", "Creator=Other",
                    "misp-galaxy:threat-actor=\"APT 29\"", "intrusion-set:Lazarus Group", "tool:PsExec - S0029",
                    "malware:Emotet", "malware_classification:malware-category=\"Ransomware\"",
                    "misp-galaxy:ransomware=\"WannaCry\"", "misp-galaxy:tool=\"Cobalt Strike\"",
                    "misp-galaxy:malpedia=\"Trickbot\"", "misp-galaxy:mitre-enterprise-attack-tool=\"Net - S0039\"",
                    "mitre-attack:attack-pattern=\"Spearphishing - T1566.001\"", "mitre:T1059",
                    "misp-galaxy:sector=\"Telecoms\"", "admiralty-scale:information-credibility=\"1\"",
                    "type:OSINT", "12345", "x:42", "a=\"b=\"c\"", "workflow:state=\"complete\"", "mitre-tactic"),
        "Galaxy": event_galaxies, "Attribute": attributes, "Object": objects, "EventReport": reports}}


def sparse():
    """Nothing to reference: the report points at the author, or the official placeholder."""
    return {"Event": {"uuid": uuid(0xE2, 0), "info": "Nothing", "date": "2024-06-10T08:00:00", "timestamp": 1717200000,
                      "threat_level_id": "3", "Orgc": ORG}}


def no_description():
    """The official connector fails on an object without a description."""
    e = 0xE3
    return {"Event": {"uuid": uuid(e, 0), "info": "Object without description", "date": "2024-01-02",
                      "timestamp": "1704153600", "threat_level_id": "2", "Orgc": ORG, "Tag": tags("tlp:green"),
                      "Object": [{"uuid": uuid(e, 1), "name": "x", "Attribute": [attribute(e, 2, "domain", "a.example")]}]}}


def bare_and_odd():
    """A bare event (no "Event" wrapper) with odd field types."""
    e = 0xE4
    return {"uuid": uuid(e, 0), "info": 42, "date": "2024-01-01", "timestamp": 1704067200, "Orgc": {"name": "O"},
            "Tag": [{"name": 5}, {}],
            "Attribute": [attribute(e, 1, "domain", "example.com", to_ids="true", timestamp=1704067200),
                          attribute(e, 2, "domain", "example.org", to_ids=None, comment=None),
                          {"type": "domain", "value": "no-uuid.example"},
                          {"uuid": uuid(e, 3), "type": "url"}]}


def guessable():
    """Tag values a fake platform knows (misp-identical.sh seeds it)."""
    e = 0xE5
    return {"Event": {"uuid": uuid(e, 0), "info": "Guess", "date": "2024-03-01", "timestamp": "1709300000",
                      "threat_level_id": "2", "Orgc": ORG,
                      "Tag": tags("tlp:green", "misp-galaxy:threat-actor=\"Fancy Bear\"", "geodo", "unknown:Nobody",
                                  "Sofacy", "x:", "a=\"\""),
                      "Attribute": [attribute(e, 1, "domain", "guess.example", Tag=tags("mitre-attack:T1566.001", "Mimi")),
                                    attribute(e, 2, "domain", "plain.example")]}}


def many_attributes():
    """10,000 attributes: the connector stops making relationships."""
    e = 0xE6
    return {"Event": {"uuid": uuid(e, 0), "info": "Many", "date": "2024-03-01", "timestamp": "1709300000",
                      "threat_level_id": "2", "Orgc": ORG, "Tag": tags("intrusion-set:Big"),
                      "Attribute": [attribute(e, n, "domain", "d%d.example.com" % n) for n in range(1, 10001)]}}


for event in [everything(), sparse(), no_description(), bare_and_odd(), guessable(), many_attributes()]:
    sys.stdout.write(json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n")
