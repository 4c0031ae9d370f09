#!/usr/bin/env node
// Node.js client of movierec.v1.ServingService, built only from the .proto files in
// ../../protos (no generated code, no Python). Used to check that another language gets
// the same answers as the Python SDK.
//
// Usage:
//   node client.js TARGET METHOD [REQUEST_JSON]
//     TARGET        host:port of a serving server, e.g. 127.0.0.1:50052
//     METHOD        Predict | Recommend | SimilarItems | Metrics | GetModelStatus
//     REQUEST_JSON  the request message as JSON with proto field names; read from stdin
//                   when left out. int64 fields may be numbers or strings.
//   e.g. node client.js 127.0.0.1:50052 Recommend '{"model": {"name": "fake"}, "user_id": 10, "k": 3}'
//
// Prints the response as JSON on stdout (int64 fields as strings, enums by name, unset
// fields with their defaults, a oneof's chosen field name under the oneof's name) and
// exits 0. On a gRPC error prints {"error": {"code": <numeric status>, "details": "..."}}
// and exits 1. Bad usage exits 2. Each call has a 30 s deadline.

'use strict';

const fs = require('fs');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTOS = path.resolve(__dirname, '..', '..', 'protos');
const FILES = ['common', 'serving', 'trainer'].map((name) => `movierec/v1/${name}.proto`);
const METHODS = ['Predict', 'Recommend', 'SimilarItems', 'Metrics', 'GetModelStatus'];

function usage(message) {
  process.stderr.write(`${message}\nusage: node client.js TARGET METHOD [REQUEST_JSON]\n`);
  process.exit(2);
}

function main() {
  const [target, method, json] = process.argv.slice(2);
  if (!target || !METHODS.includes(method)) {
    usage(`need a target and one of ${METHODS.join(', ')}`);
  }
  let request;
  try {
    request = JSON.parse(json !== undefined ? json : fs.readFileSync(0, 'utf8') || '{}');
  } catch (error) {
    usage(`request is not JSON: ${error.message}`);
  }

  const definition = protoLoader.loadSync(FILES, {
    keepCase: true,
    longs: String, // int64 ids and versions keep full precision
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: [PROTOS],
  });
  const { ServingService } = grpc.loadPackageDefinition(definition).movierec.v1;
  const client = new ServingService(target, grpc.credentials.createInsecure());

  const deadline = new Date(Date.now() + 30000);
  client[method](request, { deadline }, (error, response) => {
    client.close();
    if (error) {
      process.stdout.write(`${JSON.stringify({ error: { code: error.code, details: error.details } })}\n`);
      process.exitCode = 1;
      return;
    }
    process.stdout.write(`${JSON.stringify(response)}\n`);
  });
}

main();
