#!/usr/bin/env python3
"""Interoperability test: a client in another gRPC implementation (Python grpcio).

Generates stubs from proto/ with grpcio-tools, starts the real xborderd binary on an
ephemeral port, lists services through server reflection, checks health, assesses a flow,
writes a rule set with the admin token and receives the change on a watch stream.

Usage: interop.py PATH/TO/xborderd
"""

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from grpc_tools import protoc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOKEN = "interop-admin-token"
RESULTS = {"passed": 0, "failed": 0}


def check(name, condition, detail=""):
    if condition:
        RESULTS["passed"] += 1
        print(f"ok   {name}")
    else:
        RESULTS["failed"] += 1
        print(f"FAIL {name} {detail}")


def generate_stubs(out):
    proto_dir = os.path.join(ROOT, "proto")
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    files = [os.path.join(proto_dir, "xborder", "v1", name) for name in ("assessment.proto", "rules.proto", "watch.proto")]
    code = protoc.main(
        ["protoc", f"-I{proto_dir}", f"-I{include}", f"--python_out={out}", f"--grpc_python_out={out}", *files]
    )
    if code != 0:
        sys.exit(f"protoc failed with {code}")
    sys.path.insert(0, out)


def consume(stream, events):
    """Moves stream messages to a queue until the stream ends or is cancelled."""
    try:
        for message in stream:
            events.put(message)
    except grpc.RpcError as error:
        if error.code() != grpc.StatusCode.CANCELLED:
            events.put(error)


def start_server(binary, token_file):
    process = subprocess.Popen(
        [binary, "--listen", "127.0.0.1:0", "--log-format", "json", "--admin-token-file", token_file,
         "--progress-interval", "1s", "--drain-delay", "0s"],
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        fields = record.get("fields", {})
        if fields.get("message") == "serving":
            threading.Thread(target=lambda: process.stderr.read(), daemon=True).start()
            return process, fields["address"]
    process.kill()
    sys.exit("xborderd did not report its address")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with tempfile.TemporaryDirectory() as work:
        generate_stubs(work)
        from xborder.v1 import assessment_pb2, assessment_pb2_grpc, rules_pb2, rules_pb2_grpc
        from xborder.v1 import watch_pb2, watch_pb2_grpc

        token_file = os.path.join(work, "admin.token")
        with open(token_file, "w") as handle:
            handle.write(TOKEN + "\n")
        process, address = start_server(sys.argv[1], token_file)
        try:
            channel = grpc.insecure_channel(address)
            grpc.channel_ready_future(channel).result(timeout=10)

            services = sorted(ProtoReflectionDescriptorDatabase(channel).get_services())
            check("reflection lists the services",
                  {"xborder.v1.AssessmentService", "xborder.v1.RuleService", "xborder.v1.WatchService",
                   "grpc.health.v1.Health"} <= set(services), services)

            health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""))
            check("health is SERVING", health.status == health_pb2.HealthCheckResponse.SERVING, health)

            assessment = assessment_pb2_grpc.AssessmentServiceStub(channel).AssessFlow(
                assessment_pb2.AssessFlowRequest(
                    request_id="py-1",
                    flow=assessment_pb2.Flow(origin="CN", destination="US", data_categories=["user.contact"],
                                             data_subject_count=500000),
                )
            )
            check("assessment is CONDITIONAL", assessment.decision == assessment_pb2.DECISION_CONDITIONAL,
                  assessment.summary)
            check("request id echoed", assessment.request_id == "py-1")
            check("unmet requirement cites CN law",
                  any(r.jurisdiction == "CN" and r.citation for r in assessment.unmet_requirements))

            try:
                assessment_pb2_grpc.AssessmentServiceStub(channel).AssessFlow(
                    assessment_pb2.AssessFlowRequest(flow=assessment_pb2.Flow(origin="XX", destination="US",
                                                                              data_categories=["user.contact"])))
                check("invalid flow rejected", False)
            except grpc.RpcError as error:
                check("invalid flow is INVALID_ARGUMENT", error.code() == grpc.StatusCode.INVALID_ARGUMENT,
                      error.details())

            events = queue.Queue()
            watch = watch_pb2_grpc.WatchServiceStub(channel).WatchRuleChanges(
                watch_pb2.WatchRuleChangesRequest(jurisdictions=["SG"], include_rule_set=True))
            threading.Thread(target=consume, args=(watch, events), daemon=True).start()
            first = events.get(timeout=10)
            check("watch starts with PROGRESS", first.kind == rules_pb2.CHANGE_KIND_PROGRESS, first)

            rules = rules_pb2_grpc.RuleServiceStub(channel)
            current = rules.GetRuleSet(rules_pb2.GetRuleSetRequest(jurisdiction="SG"))
            rule_set = current.rule_set
            rule_set.name = "Singapore (written from Python)"
            written = rules.PutRuleSet(
                rules_pb2.PutRuleSetRequest(rule_set=rule_set, expected_version=current.version),
                metadata=[("authorization", f"Bearer {TOKEN}")],
            )
            check("write commits a new version", written.committed and written.version == current.version + 1,
                  written)
            event = events.get(timeout=10)
            while event.kind == rules_pb2.CHANGE_KIND_PROGRESS:
                event = events.get(timeout=10)
            check("watch receives the change",
                  event.kind == rules_pb2.CHANGE_KIND_UPDATED and event.revision == written.revision
                  and event.rule_set.name == "Singapore (written from Python)", event)
            watch.cancel()
            channel.close()
        finally:
            process.terminate()
            code = process.wait(timeout=15)
            check("xborderd exits 0 on SIGTERM", code == 0, code)
    print(f"interop: {RESULTS['passed']} passed, {RESULTS['failed']} failed")
    sys.exit(1 if RESULTS["failed"] else 0)


if __name__ == "__main__":
    main()
