"""Times gRPC calls one at a time from a Python grpcio client, as a new user would: the
requests are written field by field (no generated stubs), sent as raw bytes, and the answer's
size checked. Prints p50 and p99 in milliseconds per question.

Usage: python3 benches/outside/calls.py ADDRESS CALLS QUESTION...
where QUESTION is one of the names in QUESTIONS below, or `KIND:NAME` for a question about one
resource named on the command line (KIND is one of NAMED below), e.g.
`get-project:projects/scale-0004242@1200`, or `summary-at:REVISION` for the summary at a past
revision.
"""

import sys
import time

import grpc


def varint(value):
    out = b""
    while True:
        byte = value & 0x7F
        value >>= 7
        out += bytes([byte | (0x80 if value else 0)])
        if not value:
            return out


def text(field, value):
    data = value.encode()
    return varint(field << 3 | 2) + varint(len(data)) + data


def number(field, value):
    return varint(field << 3) + varint(value)


def list_request(filter_text, order_by=""):
    return number(1, 50) + text(3, filter_text) + (text(4, order_by) if order_by else b"")


def summary_request(filter_text):
    # group_by party (1) and field (3), 2015-2020, at the prefecture level (2)
    return (text(1, filter_text) + varint(2 << 3 | 2) + varint(2) + bytes([1, 3])
            + number(3, 2) + number(5, 2015) + number(6, 2020))


EDUCATION = "field = EDUCATION AND year >= 2015"
QUESTIONS = {
    "list-education": ("ProjectService/ListProjects", list_request(EDUCATION)),
    "list-education-by-party": ("ProjectService/ListProjects", list_request(EDUCATION, "party")),
    "list-water-kashgar": ("ProjectService/ListProjects",
                           list_request('title:"water" AND area = "areas/kashgar"')),
    "list-observations": ("ObservationService/ListObservations",
                          list_request('indicator = "indicators/scale-indicator-0" AND year >= 2015')),
    "list-observations-by-area": ("ObservationService/ListObservations",
                                  list_request('indicator = "indicators/scale-indicator-0" '
                                               'AND year >= 2015', "area desc")),
    "summary": ("AnalyticsService/SummarizeFunding", summary_request("")),
    "summary-water": ("AnalyticsService/SummarizeFunding", summary_request('title:"water"')),
    "get-project": ("ProjectService/GetProject", text(1, "projects/scale-0004242")),
    # With `cargo bench --bench places`' synthetic counties.
    "resolve-code": ("AreaService/ResolvePlaces", text(1, "953125")),
    "resolve-name": ("AreaService/ResolvePlaces", text(1, "基准县53125")),
    "get-area": ("AreaService/GetArea", text(1, "areas/bench-053125")),
}


def embedded(field, data):
    return varint(field << 3 | 2) + varint(len(data)) + data


# Questions about one resource, its name given with the question, or at a past revision.
NAMED = {
    "get-project": lambda name: ("ProjectService/GetProject", text(1, name)),
    "history": lambda name: ("RecordService/ListResourceRevisions", text(1, name) + number(2, 100)),
    # The summary above read at a revision: read_at (13) { revision (1) }.
    "summary-at": lambda revision: ("AnalyticsService/SummarizeFunding",
                                    summary_request("") + embedded(13, number(1, int(revision)))),
}


def question(name):
    if ":" in name:
        kind, resource = name.split(":", 1)
        return NAMED[kind](resource)
    return QUESTIONS[name]


def main():
    address, calls, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    options = [("grpc.max_receive_message_length", 64 << 20)]
    with grpc.insecure_channel(address, options=options) as channel:
        for name in names:
            method, request = question(name)
            call = channel.unary_unary(f"/pairing.v1.{method}")
            answer = call(request, timeout=60)
            assert len(answer) > 0, name
            samples = []
            for _ in range(calls):
                started = time.perf_counter()
                call(request, timeout=60)
                samples.append((time.perf_counter() - started) * 1e3)
            samples.sort()
            p50 = samples[len(samples) // 2]
            p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
            print(f"{name}: p50 {p50:.2f} ms, p99 {p99:.2f} ms ({calls} calls, {len(answer)} bytes)")


main()
