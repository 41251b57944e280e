// The Azure Blob Storage endpoint the signed URLs point at: Put Blob, Put Block, Put Block List (upload) and
// Get Blob, Get Blob Properties with ranges (download), answering like Azure (x-ms-* headers, XML errors).
// Moved from server.ts.
import { randomBytes, randomUUID, createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type RequestRecord, type BlobState, AZURE_CODES, readBody, xmlUnescape, parseRange, type CacheContext } from './common.js';

export function blobApi(ctx: CacheContext) {
  const { entries, takeFault, takeTruncate } = ctx;

  function azureHeaders(req: IncomingMessage): Record<string, string> {
    return {
      'x-ms-request-id': randomUUID(),
      'x-ms-version': String(req.headers['x-ms-version'] ?? '2026-02-06'),
      Date: new Date().toUTCString(),
      Server: 'Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0',
    };
  }

  function azureError(req: IncomingMessage, res: ServerResponse, status: number, code: string, message: string): void {
    const headers: Record<string, string> = { ...azureHeaders(req), 'x-ms-error-code': code };
    if (req.method === 'HEAD') {
      res.writeHead(status, headers);
      res.end();
      return;
    }
    const xml = `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}\nRequestId:${headers['x-ms-request-id'] ?? ''}\nTime:${new Date().toISOString()}</Message></Error>`;
    res.writeHead(status, { ...headers, 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(xml) });
    res.end(xml);
  }

  async function handleBlob(req: IncomingMessage, res: ServerResponse, url: URL, blob: BlobState | undefined, rec: RequestRecord): Promise<void> {
    const raw = await readBody(req);
    const route = rec.route as 'upload' | 'download' | 'properties';
    const status = takeFault('status', route);
    if (status) {
      rec.fault = 'status';
      return azureError(req, res, status.code, AZURE_CODES[status.code] ?? 'InjectedFault', status.message ?? `injected fault on ${route}`);
    }
    if (!blob) return azureError(req, res, 404, 'BlobNotFound', 'The specified blob does not exist.');
    const sig = url.searchParams.get('sig');
    const entry = entries.find((e) => e.blob === blob);

    if (route === 'upload') {
      if (sig !== blob.uploadSig) return azureError(req, res, 403, 'AuthenticationFailed', 'Server failed to authenticate the request (upload signature).');
      if (entry?.finalized) return azureError(req, res, 409, 'BlobImmutable', 'The cache entry is finalized; its blob cannot change.');
      const declared = req.headers['content-length'];
      if (declared !== undefined && Number(declared) !== raw.length) {
        return azureError(req, res, 400, 'InvalidInput', `Content-Length ${declared} does not match the body (${raw.length} B).`);
      }
      const comp = url.searchParams.get('comp');
      const ok = (extra: Record<string, string> = {}) => {
        res.writeHead(201, { ...azureHeaders(req), 'x-ms-request-server-encrypted': 'true', 'Content-Length': '0', ...extra });
        res.end();
      };
      if (comp === 'block') {
        rec.op = 'PutBlock';
        const id = url.searchParams.get('blockid');
        if (!id || Buffer.from(id, 'base64').length > 64) return azureError(req, res, 400, 'InvalidQueryParameterValue', 'blockid must be base64 of at most 64 bytes.');
        blob.blocks.set(id, raw);
        return ok();
      }
      const commit = (data: Buffer) => {
        blob.committed = data;
        blob.etag = `"0x${randomBytes(8).toString('hex').toUpperCase()}"`;
        blob.lastModified = new Date();
        ok({ ETag: blob.etag, 'Last-Modified': blob.lastModified.toUTCString(), 'Content-MD5': createHash('md5').update(data).digest('base64') });
      };
      if (comp === 'blocklist') {
        rec.op = 'PutBlockList';
        const xml = raw.toString('utf8');
        const parts: Buffer[] = [];
        for (const m of xml.matchAll(/<(Latest|Committed|Uncommitted)>([^<]*)<\/\1>/g)) {
          const kind = m[1];
          const id = xmlUnescape(m[2] ?? '');
          const pending = blob.blocks.get(id);
          const committed = blob.committedBlocks.get(id);
          const part = kind === 'Committed' ? committed : kind === 'Uncommitted' ? pending : (pending ?? committed);
          if (!part) return azureError(req, res, 400, 'InvalidBlockList', `The specified block list is invalid (unknown block ${id}).`);
          parts.push(part);
        }
        if (!/<BlockList[\s>]/.test(xml)) return azureError(req, res, 400, 'InvalidXmlDocument', 'Expected a <BlockList> body.');
        const newCommitted = new Map<string, Buffer>();
        for (const m of xml.matchAll(/<(Latest|Committed|Uncommitted)>([^<]*)<\/\1>/g)) {
          const id = xmlUnescape(m[2] ?? '');
          newCommitted.set(id, (blob.blocks.get(id) ?? blob.committedBlocks.get(id))!);
        }
        blob.committedBlocks = newCommitted;
        blob.blocks.clear();
        return commit(Buffer.concat(parts));
      }
      if (comp) return azureError(req, res, 400, 'UnsupportedQueryParameter', `comp=${comp} is not emulated.`);
      rec.op = 'PutBlob';
      if (req.headers['x-ms-blob-type'] !== 'BlockBlob') {
        return azureError(req, res, 400, 'MissingRequiredHeader', 'x-ms-blob-type: BlockBlob is required for Put Blob.');
      }
      blob.blocks.clear();
      blob.committedBlocks.clear();
      return commit(raw);
    }

    // GET / HEAD
    rec.op = route === 'download' ? 'GetBlob' : 'GetBlobProperties';
    if (sig !== blob.downloadSig) return azureError(req, res, 403, 'AuthenticationFailed', 'Server failed to authenticate the request (download signature).');
    if (!blob.committed || !entry?.finalized) return azureError(req, res, 404, 'BlobNotFound', 'The specified blob does not exist.');
    const data = blob.committed;
    const ifMatch = req.headers['if-match'];
    if (ifMatch && ifMatch !== '*' && ifMatch !== blob.etag) return azureError(req, res, 412, 'ConditionNotMet', 'The condition specified using HTTP conditional header(s) is not met.');
    const common = {
      ...azureHeaders(req),
      'Content-Type': 'application/octet-stream',
      'Last-Modified': blob.lastModified.toUTCString(),
      ETag: blob.etag,
      'Accept-Ranges': 'bytes',
      'x-ms-blob-type': 'BlockBlob',
      'x-ms-creation-time': blob.createdOn.toUTCString(),
      'x-ms-lease-status': 'unlocked',
      'x-ms-lease-state': 'available',
      'x-ms-server-encrypted': 'true',
    };
    if (route === 'properties') {
      res.writeHead(200, { ...common, 'Content-Length': String(data.length) });
      res.end();
      return;
    }
    const rangeHeader = (req.headers['x-ms-range'] ?? req.headers['range']) as string | undefined;
    if (rangeHeader) rec.range = rangeHeader;
    const range = parseRange(rangeHeader, data.length);
    if (range === null) return azureError(req, res, 416, 'InvalidRange', 'The range specified is invalid for the current size of the resource.');
    const slice = range ? data.subarray(range.start, range.end + 1) : data;
    const headers: Record<string, string> = { ...common, 'Content-Length': String(slice.length) };
    if (range) headers['Content-Range'] = `bytes ${range.start}-${range.end}/${data.length}`;
    if (takeTruncate()) {
      rec.fault = 'truncate';
      rec.status = range ? 206 : 200;
      res.writeHead(rec.status, headers);
      res.write(slice.subarray(0, Math.floor(slice.length / 2)), () => res.socket?.end());
      return;
    }
    res.writeHead(range ? 206 : 200, headers);
    res.end(slice);
  }

  return { handleBlob };
}
