#!/usr/bin/env python3
# A non-Node client of berthd, with only the standard library (http.client
# over the Unix socket): field names spelled as other SDKs spell them, and the
# stdcopy frames of `logs` and `logs -f` counted one by one.
# Usage: http-client.py SOCKET IMAGE ; prints one JSON object.
import http.client
import json
import socket
import struct
import sys


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=60)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(60)
        self.sock.connect(self.unix_path)


def call(sock_path, method, path, body=None):
    conn = UnixConnection(sock_path)
    headers = {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
    conn.request(method, path, body=data, headers=headers)
    res = conn.getresponse()
    raw = res.read()
    conn.close()
    return res.status, raw


def frames(raw):
    out = []
    pos = 0
    while pos + 8 <= len(raw):
        stream, size = raw[pos], struct.unpack(">I", raw[pos + 4 : pos + 8])[0]
        out.append([stream, raw[pos + 8 : pos + 8 + size].decode()])
        pos += 8 + size
    return out, len(raw) - pos


def main():
    sock_path, image = sys.argv[1], sys.argv[2]
    result = {}
    # lower-case and camel-case names, an unknown field and nulls, as Python and Go clients send them
    status, raw = call(sock_path, "POST", "/v1.44/containers/create?name=py-client", {
        "image": image,
        "cmd": ["sh", "-c", "echo one; echo two; echo three >&2; echo four; sleep 2"],
        "labels": {"Made.By": "python"},
        "workingDir": None,
        "NotAField": 1,
        "hostConfig": {"logConfig": {"type": "json-file", "config": {"max-size": "1m"}}, "autoRemove": False},
    })
    result["create"] = status
    cid = json.loads(raw)["Id"]
    status, raw = call(sock_path, "GET", f"/containers/{cid}/json")
    inspect = json.loads(raw)
    result["labels"] = inspect["Config"]["Labels"]
    result["logConfig"] = inspect["HostConfig"]["LogConfig"]
    result["start"] = call(sock_path, "POST", f"/containers/{cid}/start")[0]
    # an exec whose field names are all in lower camel case
    status, raw = call(sock_path, "POST", f"/containers/{cid}/exec", {"cmd": ["true"], "attachStdout": True, "detachKeys": "ctrl-x"})
    result["exec"] = status
    # follows while the container runs, until it exits
    status, raw = call(sock_path, "GET", f"/containers/{cid}/logs?stdout=1&stderr=1&follow=1")
    result["follow"], _ = frames(raw)
    call(sock_path, "POST", f"/containers/{cid}/wait")
    status, raw = call(sock_path, "GET", f"/containers/{cid}/logs?stdout=1&stderr=1")
    result["logs"], result["trailing"] = frames(raw)
    result["remove"] = call(sock_path, "DELETE", f"/containers/{cid}?force=1")[0]
    status, raw = call(sock_path, "POST", "/v1.44/swarm/leave")
    result["swarmLeave"] = [status, json.loads(raw)["message"]]
    print(json.dumps(result))


main()
