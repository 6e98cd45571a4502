#!/usr/bin/env python3
"""Writes N pre-signed GitHub webhook requests (one per line: body TAB signature TAB
delivery id) for bench/wrk-presigned.lua, so that wrk can post validly signed events with
unique ids without computing HMACs in Lua. Usage: presign.py SECRET N OUT [BODY_SIZE, default 1024]"""
import hashlib
import hmac
import sys
import uuid

secret, count, out = sys.argv[1].encode(), int(sys.argv[2]), sys.argv[3]
size = int(sys.argv[4]) if len(sys.argv) > 4 else 1024
with open(out, "w") as f:
    for i in range(count):
        delivery = str(uuid.uuid4())
        body = '{"id":"%s","type":"push","n":%d,"data":{"pad":"%s"}}' % (delivery, i, "")
        body = body.replace('"pad":""', '"pad":"%s"' % ("x" * max(0, size - len(body))))
        sig = hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()
        f.write("%s\tsha256=%s\t%s\n" % (body, sig, delivery))
