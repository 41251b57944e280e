import { fileURLToPath as __setupDindFileURLToPath } from 'node:url';
import { dirname as __setupDindDirname } from 'node:path';
const __filename = __setupDindFileURLToPath(import.meta.url);
const __dirname = __setupDindDirname(__filename);
import { createRequire as __WEBPACK_EXTERNAL_createRequire } from "module";
/******/ var __webpack_modules__ = ({

/***/ 2613:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("assert");

/***/ }),

/***/ 181:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("buffer");

/***/ }),

/***/ 5317:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("child_process");

/***/ }),

/***/ 6982:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("crypto");

/***/ }),

/***/ 4434:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("events");

/***/ }),

/***/ 9896:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("fs");

/***/ }),

/***/ 8611:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("http");

/***/ }),

/***/ 5692:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("https");

/***/ }),

/***/ 9278:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("net");

/***/ }),

/***/ 4589:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:assert");

/***/ }),

/***/ 6698:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:async_hooks");

/***/ }),

/***/ 4573:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:buffer");

/***/ }),

/***/ 7540:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:console");

/***/ }),

/***/ 7598:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:crypto");

/***/ }),

/***/ 3053:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:diagnostics_channel");

/***/ }),

/***/ 610:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:dns");

/***/ }),

/***/ 8474:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:events");

/***/ }),

/***/ 3024:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:fs");

/***/ }),

/***/ 7067:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:http");

/***/ }),

/***/ 2467:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:http2");

/***/ }),

/***/ 4708:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:https");

/***/ }),

/***/ 8995:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:module");

/***/ }),

/***/ 7030:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:net");

/***/ }),

/***/ 8161:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:os");

/***/ }),

/***/ 6760:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:path");

/***/ }),

/***/ 643:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:perf_hooks");

/***/ }),

/***/ 1708:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:process");

/***/ }),

/***/ 1792:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:querystring");

/***/ }),

/***/ 7075:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:stream");

/***/ }),

/***/ 1692:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:tls");

/***/ }),

/***/ 3136:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:url");

/***/ }),

/***/ 7975:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:util");

/***/ }),

/***/ 3429:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:util/types");

/***/ }),

/***/ 5919:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:worker_threads");

/***/ }),

/***/ 8522:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:zlib");

/***/ }),

/***/ 857:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("os");

/***/ }),

/***/ 6928:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("path");

/***/ }),

/***/ 2203:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("stream");

/***/ }),

/***/ 3193:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("string_decoder");

/***/ }),

/***/ 3557:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("timers");

/***/ }),

/***/ 4756:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("tls");

/***/ }),

/***/ 2018:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("tty");

/***/ }),

/***/ 7016:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("url");

/***/ }),

/***/ 9023:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("util");

/***/ })

/******/ });
/************************************************************************/
/******/ // The module cache
/******/ var __webpack_module_cache__ = {};
/******/ 
/******/ // The require function
/******/ function __nccwpck_require__(moduleId) {
/******/ 	// Check if module is in cache
/******/ 	var cachedModule = __webpack_module_cache__[moduleId];
/******/ 	if (cachedModule !== undefined) {
/******/ 		return cachedModule.exports;
/******/ 	}
/******/ 	// Create a new module (and put it into the cache)
/******/ 	var module = __webpack_module_cache__[moduleId] = {
/******/ 		// no module.id needed
/******/ 		// no module.loaded needed
/******/ 		exports: {}
/******/ 	};
/******/ 
/******/ 	// Execute the module function
/******/ 	var threw = true;
/******/ 	try {
/******/ 		__webpack_modules__[moduleId].call(module.exports, module, module.exports, __nccwpck_require__);
/******/ 		threw = false;
/******/ 	} finally {
/******/ 		if(threw) delete __webpack_module_cache__[moduleId];
/******/ 	}
/******/ 
/******/ 	// Return the exports of the module
/******/ 	return module.exports;
/******/ }
/******/ 
/******/ // expose the modules object (__webpack_modules__)
/******/ __nccwpck_require__.m = __webpack_modules__;
/******/ 
/************************************************************************/
/******/ /* webpack/runtime/asset-relocator-loader */
/******/ if (typeof __nccwpck_require__ !== 'undefined') __nccwpck_require__.ab = decodeURIComponent(new URL('.', import.meta.url).pathname).slice(import.meta.url.match(/^file:\/\/\/\w:/) ? 1 : 0, -1) + "/";
/******/ 
/******/ /* webpack/runtime/compat get default export */
/******/ (() => {
/******/ 	// getDefaultExport function for compatibility with non-harmony modules
/******/ 	__nccwpck_require__.n = (module) => {
/******/ 		var getter = module && module.__esModule ?
/******/ 			() => (module['default']) :
/******/ 			() => (module);
/******/ 		__nccwpck_require__.d(getter, { a: getter });
/******/ 		return getter;
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/create fake namespace object */
/******/ (() => {
/******/ 	var getProto = Object.getPrototypeOf ? (obj) => (Object.getPrototypeOf(obj)) : (obj) => (obj.__proto__);
/******/ 	var leafPrototypes;
/******/ 	// create a fake namespace object
/******/ 	// mode & 1: value is a module id, require it
/******/ 	// mode & 2: merge all properties of value into the ns
/******/ 	// mode & 4: return value when already ns object
/******/ 	// mode & 16: return value when it's Promise-like
/******/ 	// mode & 8|1: behave like require
/******/ 	__nccwpck_require__.t = function(value, mode) {
/******/ 		if(mode & 1) value = this(value);
/******/ 		if(mode & 8) return value;
/******/ 		if(typeof value === 'object' && value) {
/******/ 			if((mode & 4) && value.__esModule) return value;
/******/ 			if((mode & 16) && typeof value.then === 'function') return value;
/******/ 		}
/******/ 		var ns = Object.create(null);
/******/ 		__nccwpck_require__.r(ns);
/******/ 		var def = {};
/******/ 		leafPrototypes = leafPrototypes || [null, getProto({}), getProto([]), getProto(getProto)];
/******/ 		for(var current = mode & 2 && value; typeof current == 'object' && !~leafPrototypes.indexOf(current); current = getProto(current)) {
/******/ 			Object.getOwnPropertyNames(current).forEach((key) => (def[key] = () => (value[key])));
/******/ 		}
/******/ 		def['default'] = () => (value);
/******/ 		__nccwpck_require__.d(ns, def);
/******/ 		return ns;
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/define property getters */
/******/ (() => {
/******/ 	// define getter functions for harmony exports
/******/ 	__nccwpck_require__.d = (exports, definition) => {
/******/ 		for(var key in definition) {
/******/ 			if(__nccwpck_require__.o(definition, key) && !__nccwpck_require__.o(exports, key)) {
/******/ 				Object.defineProperty(exports, key, { enumerable: true, get: definition[key] });
/******/ 			}
/******/ 		}
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/ensure chunk */
/******/ (() => {
/******/ 	__nccwpck_require__.f = {};
/******/ 	// This file contains only the entry chunk.
/******/ 	// The chunk loading function for additional chunks
/******/ 	__nccwpck_require__.e = (chunkId) => {
/******/ 		return Promise.all(Object.keys(__nccwpck_require__.f).reduce((promises, key) => {
/******/ 			__nccwpck_require__.f[key](chunkId, promises);
/******/ 			return promises;
/******/ 		}, []));
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/get javascript chunk filename */
/******/ (() => {
/******/ 	// This function allow to reference async chunks
/******/ 	__nccwpck_require__.u = (chunkId) => {
/******/ 		// return url for filenames based on template
/******/ 		return "" + chunkId + ".index.js";
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/hasOwnProperty shorthand */
/******/ (() => {
/******/ 	__nccwpck_require__.o = (obj, prop) => (Object.prototype.hasOwnProperty.call(obj, prop))
/******/ })();
/******/ 
/******/ /* webpack/runtime/make namespace object */
/******/ (() => {
/******/ 	// define __esModule on exports
/******/ 	__nccwpck_require__.r = (exports) => {
/******/ 		if(typeof Symbol !== 'undefined' && Symbol.toStringTag) {
/******/ 			Object.defineProperty(exports, Symbol.toStringTag, { value: 'Module' });
/******/ 		}
/******/ 		Object.defineProperty(exports, '__esModule', { value: true });
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/import chunk loading */
/******/ (() => {
/******/ 	// no baseURI
/******/ 	
/******/ 	// object to store loaded and loading chunks
/******/ 	// undefined = chunk not loaded, null = chunk preloaded/prefetched
/******/ 	// [resolve, Promise] = chunk loading, 0 = chunk loaded
/******/ 	var installedChunks = {
/******/ 		792: 0
/******/ 	};
/******/ 	
/******/ 	var installChunk = (data) => {
/******/ 		var {ids, modules, runtime} = data;
/******/ 		// add "modules" to the modules object,
/******/ 		// then flag all "ids" as loaded and fire callback
/******/ 		var moduleId, chunkId, i = 0;
/******/ 		for(moduleId in modules) {
/******/ 			if(__nccwpck_require__.o(modules, moduleId)) {
/******/ 				__nccwpck_require__.m[moduleId] = modules[moduleId];
/******/ 			}
/******/ 		}
/******/ 		if(runtime) runtime(__nccwpck_require__);
/******/ 		for(;i < ids.length; i++) {
/******/ 			chunkId = ids[i];
/******/ 			if(__nccwpck_require__.o(installedChunks, chunkId) && installedChunks[chunkId]) {
/******/ 				installedChunks[chunkId][0]();
/******/ 			}
/******/ 			installedChunks[ids[i]] = 0;
/******/ 		}
/******/ 	
/******/ 	}
/******/ 	
/******/ 	__nccwpck_require__.f.j = (chunkId, promises) => {
/******/ 			// import() chunk loading for javascript
/******/ 			var installedChunkData = __nccwpck_require__.o(installedChunks, chunkId) ? installedChunks[chunkId] : undefined;
/******/ 			if(installedChunkData !== 0) { // 0 means "already installed".
/******/ 	
/******/ 				// a Promise means "currently loading".
/******/ 				if(installedChunkData) {
/******/ 					promises.push(installedChunkData[1]);
/******/ 				} else {
/******/ 					if(true) { // all chunks have JS
/******/ 						// setup Promise in chunk cache
/******/ 						var promise = import("./" + __nccwpck_require__.u(chunkId)).then(installChunk, (e) => {
/******/ 							if(installedChunks[chunkId] !== 0) installedChunks[chunkId] = undefined;
/******/ 							throw e;
/******/ 						});
/******/ 						var promise = Promise.race([promise, new Promise((resolve) => (installedChunkData = installedChunks[chunkId] = [resolve]))])
/******/ 						promises.push(installedChunkData[1] = promise);
/******/ 					}
/******/ 				}
/******/ 			}
/******/ 	};
/******/ 	
/******/ 	// no prefetching
/******/ 	
/******/ 	// no preloaded
/******/ 	
/******/ 	// no external install chunk
/******/ 	
/******/ 	// no on chunks loaded
/******/ })();
/******/ 
/************************************************************************/
var __webpack_exports__ = {};

// EXPORTS
__nccwpck_require__.d(__webpack_exports__, {
  iW: () => (/* binding */ main),
  bE: () => (/* binding */ post),
  AS: () => (/* binding */ pre)
});

;// CONCATENATED MODULE: external "node:child_process"
const external_node_child_process_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:child_process");
// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __nccwpck_require__(3024);
// EXTERNAL MODULE: external "node:net"
var external_node_net_ = __nccwpck_require__(7030);
var external_node_net_default = /*#__PURE__*/__nccwpck_require__.n(external_node_net_);
;// CONCATENATED MODULE: external "node:fs/promises"
const promises_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:fs/promises");
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __nccwpck_require__(6760);
;// CONCATENATED MODULE: ./src/show.ts
/** How a user's value is shown in an error: quoted, escaped, never endless. */
function showValue(value) {
    const shown = JSON.stringify(value.length > 120 ? `${value.slice(0, 120)}…` : value);
    return value.length > 120 ? `${shown} (${value.length} characters)` : shown;
}

// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __nccwpck_require__(7598);
// EXTERNAL MODULE: external "node:os"
var external_node_os_ = __nccwpck_require__(8161);
;// CONCATENATED MODULE: ./src/endpoint/docker-config.ts
// The docker CLI's own configuration, read the way the CLI reads it: the config directory ($DOCKER_CONFIG, else
// ~/.docker), config.json (currentContext, auths, credential helpers) and the context store under contexts/
// (contexts/meta/<sha256 of the name>/meta.json, TLS material in contexts/tls/<same id>/docker/). Raw strings out:
// endpoint.ts turns a context's host into a DaemonEndpoint.




const dockerConfigDir = (env) => env.DOCKER_CONFIG || (0,external_node_path_.join)(env.HOME || (0,external_node_os_.homedir)(), '.docker');
/** The directory name of a context in the store: the hex SHA-256 of its name. */
const contextId = (name) => (0,external_node_crypto_.createHash)('sha256').update(name).digest('hex');
/** config.json of a config directory; {} when there is none. A file that is not JSON is an error naming it. */
function readDockerConfig(configDir) {
    const path = (0,external_node_path_.join)(configDir, 'config.json');
    let text;
    try {
        text = (0,external_node_fs_.readFileSync)(path, 'utf8');
    }
    catch (e) {
        if (e.code === 'ENOENT')
            return {};
        throw new Error(`cannot read ${path}: ${e.message}`);
    }
    return parseDockerConfig(text, path);
}
/** config.json's text as an object ({} when empty); a text that is no JSON object is an error naming `path`. */
function parseDockerConfig(text, path) {
    if (!text.trim())
        return {};
    try {
        const parsed = JSON.parse(text);
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
            throw new Error('not a JSON object');
        return parsed;
    }
    catch (e) {
        throw new Error(`${path} is not valid JSON (${e.message}); fix or remove it`);
    }
}
/**
 * The context named `name` in the config directory's store. "default" is not stored: it stands for DOCKER_HOST or
 * the default socket, so the caller handles it. Throws with the path and a remedy when it is missing or unusable.
 */
function readContext(configDir, name) {
    const id = contextId(name);
    const metaPath = (0,external_node_path_.join)(configDir, 'contexts', 'meta', id, 'meta.json');
    let meta;
    try {
        meta = JSON.parse((0,external_node_fs_.readFileSync)(metaPath, 'utf8'));
    }
    catch (e) {
        if (e.code === 'ENOENT') {
            throw new Error(`context "${name}" does not exist (no ${metaPath}); create it with docker context create, or name an existing one`);
        }
        throw new Error(`context "${name}": ${metaPath} is not readable JSON (${e.message})`);
    }
    const host = meta.Endpoints?.docker?.Host;
    if (!host)
        throw new Error(`context "${name}" has no docker endpoint host in ${metaPath}`);
    const tlsDir = (0,external_node_path_.join)(configDir, 'contexts', 'tls', id, 'docker');
    return { name, host, metaPath, skipTlsVerify: meta.Endpoints?.docker?.SkipTLSVerify === true, ...((0,external_node_fs_.existsSync)(tlsDir) ? { tlsDir } : {}) };
}
/**
 * The context the docker CLI would use when DOCKER_HOST is not set: DOCKER_CONTEXT, else config.json's
 * currentContext; undefined for "default" or none. `source` says where the name came from, for messages.
 */
function selectedContext(env) {
    const configDir = dockerConfigDir(env);
    const fromEnv = env.DOCKER_CONTEXT?.trim();
    if (fromEnv)
        return fromEnv === 'default' ? undefined : { name: fromEnv, source: 'DOCKER_CONTEXT', configDir };
    const current = readDockerConfig(configDir).currentContext?.trim();
    if (!current || current === 'default')
        return undefined;
    return { name: current, source: `currentContext in ${(0,external_node_path_.join)(configDir, 'config.json')}`, configDir };
}

;// CONCATENATED MODULE: ./src/endpoint/endpoint.ts
// Where a Docker daemon is reached: the one value every module passes around instead of loose strings.




const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';
const TLS_FILES = ['ca.pem', 'cert.pem', 'key.pem'];
/** Parses a DOCKER_HOST-style URL. Throws with a message that says what is allowed; callers add the input's name. */
function parseDockerHost(value) {
    const text = value.trim();
    if (text.startsWith('unix://')) {
        const path = text.slice('unix://'.length);
        if (!path.startsWith('/'))
            throw new Error(`${showValue(value)} must name an absolute socket path; use something like unix:///var/run/docker.sock`);
        if (/[\0\n\r]/.test(path))
            throw new Error(`${showValue(value)} contains control characters; remove them`);
        return { kind: 'unix', path };
    }
    if (text.startsWith('tcp://')) {
        let url;
        try {
            url = new URL(text);
        }
        catch {
            throw new Error(`${showValue(value)} is not a valid tcp:// address; use tcp://HOST:PORT`);
        }
        if (!url.hostname || !url.port)
            throw new Error(`${showValue(value)} needs a host and a port; use something like tcp://docker:2376`);
        if (url.pathname !== '/' && url.pathname !== '')
            throw new Error(`${showValue(value)} must not have a path; use tcp://HOST:PORT`);
        if (url.username || url.password || url.search || url.hash)
            throw new Error(`${showValue(value)} must be only tcp://HOST:PORT; remove the rest`);
        const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
        return { kind: 'tcp', host, port: Number(url.port) };
    }
    throw new Error(`${showValue(value)} is not a supported address; use unix:///path/to/docker.sock or tcp://HOST:PORT`);
}
function formatAddress(address) {
    if (address.kind === 'unix')
        return `unix://${address.path}`;
    const host = address.host.includes(':') ? `[${address.host}]` : address.host;
    return `tcp://${host}:${address.port}`;
}
/** The TLS certificate files are not (yet) there: a daemon that writes them when it starts may still do so. */
class TlsFilesMissingError extends Error {
}
/** Problems with a TLS certificate directory, as sentences; empty when it is usable. */
function checkTlsCertPath(dir) {
    if (!(0,external_node_fs_.existsSync)(dir))
        return [`directory ${showValue(dir)} does not exist; give the directory that holds ca.pem, cert.pem and key.pem`];
    const missing = TLS_FILES.filter((f) => !(0,external_node_fs_.existsSync)((0,external_node_path_.join)(dir, f)));
    return missing.length ? [`${showValue(dir)} lacks ${missing.join(', ')}; it needs ca.pem, cert.pem and key.pem`] : [];
}
/** The environment the docker CLI needs to reach this endpoint. */
function clientEnvironment(endpoint) {
    const env = { DOCKER_HOST: formatAddress(endpoint.address) };
    if (endpoint.tlsCertPath) {
        env.DOCKER_TLS_VERIFY = '1';
        env.DOCKER_CERT_PATH = endpoint.tlsCertPath;
    }
    return env;
}
/**
 * The engine the action talks to, found the way the docker CLI finds it: the docker-host input, else DOCKER_HOST,
 * else the context named by DOCKER_CONTEXT, else the currentContext of the user's docker config, else the default
 * socket. TLS from tls-cert-path, else DOCKER_CERT_PATH when DOCKER_TLS_VERIFY is set (with DOCKER_HOST), else the
 * context's TLS material. A phase locates it once and passes it on; whether the TLS files exist is checked where
 * they are used (checkedEndpoint).
 */
function locateEngine(input, env) {
    if (input.dockerHost) {
        return input.tlsCertPath
            ? { endpoint: { address: input.dockerHost, tlsCertPath: input.tlsCertPath }, tlsSource: 'input "tls-cert-path"' }
            : { endpoint: { address: input.dockerHost } };
    }
    const fromEnv = env.DOCKER_HOST?.trim();
    const located = fromEnv ? fromDockerHost(fromEnv, env) : (fromContext(env) ?? { endpoint: { address: parseDockerHost(DEFAULT_DOCKER_HOST) } });
    if (input.tlsCertPath)
        return { endpoint: { ...located.endpoint, tlsCertPath: input.tlsCertPath }, tlsSource: 'input "tls-cert-path"' };
    return located;
}
function fromDockerHost(value, env) {
    let address;
    try {
        address = parseDockerHost(value);
    }
    catch (e) {
        throw new Error(`DOCKER_HOST: ${e.message}; set docker-host or fix DOCKER_HOST`);
    }
    if (env.DOCKER_TLS_VERIFY && env.DOCKER_TLS_VERIFY !== '0' && address.kind === 'tcp') {
        return { endpoint: { address, tlsCertPath: env.DOCKER_CERT_PATH || (0,external_node_path_.join)(env.HOME ?? '', '.docker') }, tlsSource: 'DOCKER_CERT_PATH' };
    }
    return { endpoint: { address } };
}
/** The context DOCKER_CONTEXT or the docker config selects; undefined for none or "default". */
function fromContext(env) {
    const selected = selectedContext(env);
    if (!selected)
        return undefined;
    const where = `docker context "${selected.name}" (from ${selected.source})`;
    const context = readContextFor(selected, where);
    let address;
    try {
        address = parseDockerHost(context.host);
    }
    catch (e) {
        throw new Error(`${where}: its host ${e.message}; set docker-host, or DOCKER_HOST, to an address the action can reach`);
    }
    if (context.skipTlsVerify) {
        throw new Error(`${where} skips TLS verification, which the action does not do; give the CA in the context (docker context create --docker ca=...) or set docker-host and tls-cert-path`);
    }
    if (context.tlsDir && address.kind === 'tcp')
        return { endpoint: { address, tlsCertPath: context.tlsDir }, tlsSource: where };
    return { endpoint: { address } };
}
function readContextFor(selected, where) {
    try {
        return readContext(selected.configDir, selected.name);
    }
    catch (e) {
        throw new Error(`${where}: ${e.message.replace(/^context "[^"]*" /, '')}`);
    }
}
/** The located endpoint once its TLS files exist; TlsFilesMissingError while they do not. */
function checkedEndpoint(location) {
    const { tlsCertPath } = location.endpoint;
    if (tlsCertPath) {
        const problems = checkTlsCertPath(tlsCertPath);
        if (problems.length)
            throw new TlsFilesMissingError(`${location.tlsSource}: ${problems.join('; ')}`);
    }
    return location.endpoint;
}
/** locateEngine, then checkedEndpoint: for callers that need a usable endpoint at once. */
const resolveEngine = (input, env) => checkedEndpoint(locateEngine(input, env));
const saveEndpoint = (e) => ({
    host: formatAddress(e.address),
    ...(e.tlsCertPath ? { tlsCertPath: e.tlsCertPath } : {}),
});
const loadEndpoint = (s) => ({
    address: parseDockerHost(s.host),
    ...(s.tlsCertPath ? { tlsCertPath: s.tlsCertPath } : {}),
});

// EXTERNAL MODULE: external "node:http"
var external_node_http_ = __nccwpck_require__(7067);
// EXTERNAL MODULE: external "node:https"
var external_node_https_ = __nccwpck_require__(4708);
;// CONCATENATED MODULE: ./src/engine/client.ts
// The only module that talks to the engine: the Engine API calls the action makes, typed, with errors that say what
// failed. A thin client over node:http on the unix socket, TCP or TLS: no SDK, nothing loaded that a phase does not
// use, and no environment read (DOCKER_HOST and friends point at the job's daemon after main; the endpoint given is
// the only one used).





class EngineError extends Error {
    statusCode;
    constructor(message, statusCode) {
        super(message);
        this.statusCode = statusCode;
        this.name = 'EngineError';
    }
}
/** An answer of the engine outside 2xx: its status and what it said (the JSON body's message). */
class HttpStatusError extends Error {
    statusCode;
    constructor(statusCode, message) {
        super(message);
        this.statusCode = statusCode;
    }
}
/** Splits the engine's multiplexed log stream (8-byte frame headers) into plain text. */
function demuxLogs(buffer) {
    const chunks = [];
    let offset = 0;
    const looksMultiplexed = buffer.length >= 8 && buffer[0] <= 2 && buffer[1] === 0 && buffer[2] === 0 && buffer[3] === 0;
    if (!looksMultiplexed)
        return buffer.toString('utf8');
    while (offset + 8 <= buffer.length) {
        const size = buffer.readUInt32BE(offset + 4);
        chunks.push(buffer.subarray(offset + 8, offset + 8 + size));
        offset += 8 + size;
    }
    return Buffer.concat(chunks).toString('utf8');
}
/** Longest silence the action accepts from the engine within one call (more than a graceful container stop). */
const ENGINE_IDLE_TIMEOUT_MS = 30_000;
function queryString(query) {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
        if (value === undefined)
            continue;
        for (const v of Array.isArray(value) ? value : [value])
            params.append(name, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
    }
    const text = params.toString();
    return text ? `?${text}` : '';
}
async function readAll(res) {
    const chunks = [];
    for await (const chunk of res)
        chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    return Buffer.concat(chunks);
}
/** What the engine said in an error answer: {"message": "..."} as a rule, else the text or the status line. */
function errorText(res, body) {
    const text = body.toString('utf8').trim();
    try {
        const json = JSON.parse(text);
        if (typeof json?.message === 'string')
            return json.message.trim();
    }
    catch {
        // not JSON: the text itself
    }
    return text.slice(0, 500) || `HTTP ${res.statusCode} ${res.statusMessage ?? ''}`.trim();
}
/** Reads the whole answer of a JSON call. */
async function json(res) {
    const text = (await readAll(res)).toString('utf8');
    try {
        return JSON.parse(text);
    }
    catch {
        throw new Error(`the engine's answer is not JSON: ${JSON.stringify(text.slice(0, 80))}`);
    }
}
/** Progress streams (pull, load) report failures as {"error": ...} lines inside a 200 answer. */
async function streamedError(res) {
    const text = (await readAll(res)).toString('utf8');
    for (const line of text.split('\n')) {
        if (!line.trim())
            continue;
        try {
            const event = JSON.parse(line);
            if (event.error)
                return event.error;
        }
        catch {
            // a partial or non-JSON line: not an error report
        }
    }
    return undefined;
}
const toInfo = (i) => ({
    storageDriver: i.Driver ?? '',
    imageStore: (i.DriverStatus ?? []).some(([k, v]) => k === 'driver-type' && v === 'io.containerd.snapshotter.v1') ? 'containerd' : 'classic',
    registryMirrors: i.RegistryConfig?.Mirrors ?? [],
    cgroupVersion: i.CgroupVersion ?? '',
    securityOptions: i.SecurityOptions ?? [],
    engine: {
        id: i.ID ?? '', serverVersion: i.ServerVersion ?? '', kernelVersion: i.KernelVersion ?? '', operatingSystem: i.OperatingSystem ?? '',
        cgroupDriver: i.CgroupDriver ?? '', defaultRuntime: i.DefaultRuntime ?? '',
    },
});
/**
 * Seconds dockerd gets to stop its own containers and exit after SIGTERM before it is killed (data-root cache save).
 * dockerd 23 and later wait up to 5 s for clients with open requests (a step's `docker events &`) before they exit.
 */
const STOP_GRACE_SECONDS = 10;
class EngineClient {
    endpoint;
    description;
    tls;
    agentInstance;
    constructor(endpoint) {
        this.endpoint = endpoint;
        this.description = formatAddress(endpoint.address);
        if (endpoint.tlsCertPath) {
            const read = (f) => (0,external_node_fs_.readFileSync)((0,external_node_path_.join)(endpoint.tlsCertPath, f));
            this.tls = { ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem') };
        }
    }
    /** Connections are kept for the next call (a TLS handshake costs more than the call); idle ones do not hold the process. */
    newAgent(options) {
        return this.tls ? new external_node_https_.Agent({ ...options, ...this.tls }) : new external_node_http_.Agent(options);
    }
    get agent() {
        this.agentInstance ??= this.newAgent({ keepAlive: true });
        return this.agentInstance;
    }
    /** Ends every connection of this client, a request in flight included (it fails). */
    close() {
        this.agentInstance?.destroy();
    }
    /**
     * One HTTP request; resolves with the answer once its head has arrived and its status is 2xx, else rejects with
     * an HttpStatusError carrying what the engine said. An idle timeout covers the whole exchange, streams included:
     * they stay alive as long as data flows.
     */
    request(method, path, options = {}) {
        const a = this.endpoint.address;
        const timeoutMs = options.timeoutMs ?? ENGINE_IDLE_TIMEOUT_MS;
        const payload = options.json === undefined ? undefined : Buffer.from(JSON.stringify(options.json));
        const headers = { ...options.headers };
        if (payload)
            Object.assign(headers, { 'content-type': 'application/json', 'content-length': payload.length });
        else if (options.body)
            headers['content-type'] = options.contentType ?? 'application/x-tar';
        const target = a.kind === 'unix' ? { socketPath: a.path } : { host: a.host, port: a.port };
        const send = this.tls ? external_node_https_.request : external_node_http_.request;
        return new Promise((resolve, reject) => {
            let settled = false;
            const fail = (e) => {
                if (settled)
                    return;
                settled = true;
                // A body the engine refused or could not take is not read further (its producer, zstd, is told so).
                options.body?.unpipe(req);
                options.body?.destroy();
                reject(e);
            };
            const req = send({ ...target, method, path: `${path}${queryString(options.query ?? {})}`, headers, agent: options.agent ?? this.agent });
            req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${(timeoutMs / 1000).toFixed(1)} s`)));
            req.on('error', fail);
            req.on('response', (res) => {
                const status = res.statusCode ?? 0;
                if (status >= 200 && status < 300) {
                    settled = true;
                    resolve(res);
                    return;
                }
                readAll(res).then((body) => fail(new HttpStatusError(status, errorText(res, body))), (e) => fail(e));
            });
            if (options.body) {
                options.body.on('error', (e) => req.destroy(e));
                options.body.pipe(req);
            }
            else {
                req.end(payload);
            }
        });
    }
    /** A request whose answer is JSON. */
    async getJson(path, query) {
        return json(await this.request('GET', path, { query }));
    }
    /** A request whose answer carries nothing the action needs: read it to the end. */
    async send(method, path, options = {}) {
        await readAll(await this.request(method, path, options));
    }
    /**
     * Runs one engine call; an error becomes an EngineError that says what failed where. `answers` maps status codes
     * that are an answer, not a failure (404: it does not exist), to the result they stand for.
     */
    async call(what, fn, answers = {}) {
        try {
            return await fn();
        }
        catch (e) {
            const status = e instanceof HttpStatusError ? e.statusCode : undefined;
            if (status !== undefined && status in answers)
                return answers[status];
            throw new EngineError(`${what} on ${this.description} failed: ${(e?.message ?? String(e)).trim()}`, status);
        }
    }
    /**
     * One readiness probe, one call: /info, bounded by timeoutMs, on a connection of its own. A socket or port that
     * accepts connections is not a ready daemon; one that answers /info with a server version is, and the answer
     * holds everything main reports (version, API version from the header, storage driver).
     */
    async probe(timeoutMs) {
        const agent = this.newAgent({ keepAlive: false });
        const started = performance.now();
        const timer = setTimeout(() => agent.destroy(), timeoutMs);
        try {
            let res;
            try {
                res = await this.request('GET', '/info', { agent, timeoutMs });
            }
            catch (e) {
                if (e instanceof HttpStatusError)
                    throw new Error(`/info answered HTTP ${e.statusCode}: ${e.message}`);
                throw e;
            }
            const apiVersion = String(res.headers['api-version'] ?? '');
            const info = await json(res);
            if (typeof info?.ServerVersion !== 'string')
                throw new Error('/info answered without a server version: not a Docker daemon');
            return { version: info.ServerVersion, apiVersion, os: info.OSType ?? '', arch: info.Architecture ?? '', info: toInfo(info) };
        }
        catch (e) {
            // Our timeout destroys the connection, which reads as "socket hang up": say what really happened.
            if (performance.now() - started >= timeoutMs * 0.95)
                throw new Error(`no answer within ${(timeoutMs / 1000).toFixed(1)} s (the address accepts connections)`);
            throw e;
        }
        finally {
            clearTimeout(timer);
            agent.destroy();
        }
    }
    version() {
        return this.call('reading the daemon version', async () => {
            const v = await this.getJson('/version');
            return { version: v.Version, apiVersion: v.ApiVersion, os: v.Os, arch: v.Arch };
        });
    }
    info() {
        return this.call('reading the daemon info', async () => toInfo(await this.getJson('/info')));
    }
    imageExists(ref) {
        return this.call(`inspecting image ${ref}`, async () => (await this.send('GET', `/images/${encodeURIComponent(ref)}/json`), true), { 404: false });
    }
    /** The volumes an image declares (its VOLUME lines), as container paths. */
    imageVolumes(ref) {
        return this.call(`inspecting image ${ref}`, async () => Object.keys((await this.getJson(`/images/${encodeURIComponent(ref)}/json`)).Config?.Volumes ?? {}));
    }
    /** Pulls `ref`; `auth` goes to the registry as the engine's X-Registry-Auth (never logged). */
    pullImage(ref, auth) {
        return this.call(`pulling ${ref}`, async () => {
            // A reference without a tag pulls :latest (the CLI's rule); a digest is passed whole.
            const slash = ref.lastIndexOf('/');
            const hasTag = ref.includes('@') || ref.slice(slash + 1).includes(':');
            const query = hasTag ? { fromImage: ref } : { fromImage: ref, tag: 'latest' };
            // X-Registry-Auth: the credentials as JSON in URL-safe base64 WITH padding, as the docker CLI sends them (Go's
            // base64.URLEncoding; dockerd 20.10 silently pulls anonymously when the padding is missing).
            const headers = auth ? { 'X-Registry-Auth': Buffer.from(JSON.stringify(auth)).toString('base64').replace(/\+/g, '-').replace(/\//g, '_') } : undefined;
            const failed = await streamedError(await this.request('POST', '/images/create', { query, headers }));
            if (failed)
                throw new Error(failed);
        });
    }
    createVolume(name, labels) {
        return this.call(`creating volume ${name}`, () => this.send('POST', '/volumes/create', { json: { Name: name, Labels: labels } }));
    }
    removeVolume(name) {
        return this.call(`removing volume ${name}`, () => this.send('DELETE', `/volumes/${encodeURIComponent(name)}`));
    }
    async networkExists(name) {
        const found = await this.call('listing networks', () => this.getJson('/networks', { filters: JSON.stringify({ name: [name] }) }));
        return found.some((n) => n.Name === name);
    }
    createNetwork(name, labels) {
        return this.call(`creating network ${name}`, () => this.send('POST', '/networks/create', { json: { Name: name, Labels: labels, CheckDuplicate: true } }));
    }
    removeNetwork(idOrName) {
        return this.call(`removing network ${idOrName}`, () => this.send('DELETE', `/networks/${encodeURIComponent(idOrName)}`));
    }
    createContainer(spec) {
        return this.call(`creating container ${spec.name}`, async () => {
            const { name, ...body } = spec;
            return (await json(await this.request('POST', '/containers/create', { query: { name }, json: body }))).Id;
        });
    }
    startContainer(id) {
        return this.call(`starting container ${id.slice(0, 12)}`, () => this.send('POST', `/containers/${encodeURIComponent(id)}/start`));
    }
    /** undefined when the container does not exist (any more). */
    async inspectContainer(id) {
        const c = await this.call(`inspecting container ${id.slice(0, 12)}`, () => this.getJson(`/containers/${encodeURIComponent(id)}/json`), { 404: undefined });
        if (!c)
            return undefined;
        const ports = {};
        for (const [port, bindings] of Object.entries(c.NetworkSettings?.Ports ?? {})) {
            ports[port] = (bindings ?? []).map((b) => ({ hostIp: b.HostIp, hostPort: b.HostPort }));
        }
        return {
            id: c.Id,
            name: c.Name.replace(/^\//, ''),
            image: c.Image,
            running: c.State.Running,
            restarting: c.State.Restarting,
            status: c.State.Status,
            exitCode: c.State.ExitCode,
            restartCount: c.RestartCount,
            error: c.State.Error ?? '',
            ports,
            mounts: (c.Mounts ?? []).map((m) => ({ source: m.Source, destination: m.Destination, type: m.Type })),
            networks: Object.keys(c.NetworkSettings?.Networks ?? {}),
            addresses: Object.fromEntries(Object.entries(c.NetworkSettings?.Networks ?? {}).map(([n, v]) => [n, v.IPAddress ?? '']).filter(([, ip]) => ip)),
        };
    }
    /** The last `tail` lines of a container's output (stdout and stderr interleaved). */
    containerLogs(id, tail = 50) {
        return this.call(`reading the logs of ${id.slice(0, 12)}`, async () => demuxLogs(await readAll(await this.request('GET', `/containers/${encodeURIComponent(id)}/logs`, { query: { stdout: true, stderr: true, tail, follow: false } }))));
    }
    /** SIGTERM, then SIGKILL after `graceSeconds`. A container that is already stopped is fine. */
    stopContainer(id, graceSeconds) {
        // 304: already stopped; 404: already gone. The engine answers only once the container is down.
        return this.call(`stopping container ${id.slice(0, 12)}`, () => this.send('POST', `/containers/${encodeURIComponent(id)}/stop`, { query: { t: graceSeconds }, timeoutMs: ENGINE_IDLE_TIMEOUT_MS + graceSeconds * 1000 }), { 304: undefined, 404: undefined });
    }
    /** Removes a container at once (a running one is killed), with its anonymous volumes. */
    removeContainer(id) {
        return this.call(`removing container ${id.slice(0, 12)}`, () => this.send('DELETE', `/containers/${encodeURIComponent(id)}`, { query: { force: true, v: true } }), { 404: undefined });
    }
    /** Ids of the running containers. */
    runningContainers() {
        return this.call('listing containers', async () => (await this.getJson('/containers/json')).map((c) => c.Id));
    }
    /**
     * Follows container start/die/destroy events: resolves once the daemon streams them (so nothing that happens
     * later is missed), then yields them until `signal` aborts or the daemon closes the stream. No idle timeout: a
     * quiet daemon is not a dead one.
     */
    async containerEvents(signal) {
        const filters = JSON.stringify({ type: ['container'], event: ['start', 'die', 'destroy'] });
        // A day without a byte: the idle timeout of a stream that may rightly stay silent for the whole job.
        const stream = await this.call('following events', () => this.request('GET', '/events', { query: { filters }, timeoutMs: 86_400_000 }));
        return (async function* () {
            const stop = () => stream.destroy();
            signal.addEventListener('abort', stop, { once: true });
            let buffered = '';
            try {
                for await (const chunk of stream) {
                    buffered += chunk.toString();
                    let nl;
                    while ((nl = buffered.indexOf('\n')) >= 0) {
                        const line = buffered.slice(0, nl).trim();
                        buffered = buffered.slice(nl + 1);
                        if (!line)
                            continue;
                        const e = JSON.parse(line);
                        const id = e.Actor?.ID ?? e.id;
                        if (id)
                            yield { id, action: e.Action ?? e.status ?? '' };
                    }
                }
            }
            catch (e) {
                if (!signal.aborted)
                    throw e;
            }
            finally {
                signal.removeEventListener('abort', stop);
                stream.destroy();
            }
        })();
    }
    /** Waits until the container exits; its exit code. No idle timeout: the answer comes only at the exit. */
    waitContainer(id) {
        return this.call(`waiting for container ${id.slice(0, 12)}`, async () => (await json(await this.request('POST', `/containers/${encodeURIComponent(id)}/wait`, { timeoutMs: 86_400_000 }))).StatusCode);
    }
    /** Every container's id (running or not). */
    listContainerIds() {
        return this.call('listing containers', async () => (await this.getJson('/containers/json', { all: true })).map((c) => c.Id));
    }
    /** Removes unused networks, dangling images, and build cache beyond `keepBytes` (what a snapshot need not carry). */
    /**
     * Unused networks, dangling images, and build cache beyond keepBytes, the least recently used first (all of it at
     * 0). Resolves to the build cache's bytes it removed.
     */
    pruneUnused(keepBytes) {
        return this.call('pruning unused networks, dangling images and build cache', async () => {
            await this.send('POST', '/networks/prune');
            await this.send('POST', '/images/prune', { query: { filters: JSON.stringify({ dangling: ['true'] }) } });
            // keep-storage until API 1.47, reserved-space from 1.48: a daemon ignores the one it does not know. all: the
            // limit counts every record, not only the dangling ones.
            const keep = keepBytes > 0 ? { 'keep-storage': keepBytes, 'reserved-space': keepBytes } : {};
            const answer = await json(await this.request('POST', '/build/prune', { query: { all: true, ...keep } }));
            return answer.SpaceReclaimed ?? 0;
        });
    }
    /** Images with their ids and tags (dangling ones included: they may be build cache worth keeping). */
    listImages() {
        return this.call('listing images', async () => (await this.getJson('/images/json')).map((i) => ({
            id: i.Id,
            tags: (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
            size: i.Size,
        })));
    }
    /** Gives `ref` the name `repo:tag` too. */
    tagImage(ref, repo, tag) {
        return this.call(`tagging ${ref}`, () => this.send('POST', `/images/${encodeURIComponent(ref)}/tag`, { query: { repo, tag } }));
    }
    /** Removes a name of an image; the image stays while another name or a container uses it (never forced). */
    untagImage(name) {
        return this.call(`untagging ${name}`, () => this.send('DELETE', `/images/${encodeURIComponent(name)}`, { query: { noprune: true } }), { 404: undefined });
    }
    /** Removes an image (absent is fine). */
    removeImage(ref) {
        return this.call(`removing image ${ref}`, () => this.send('DELETE', `/images/${encodeURIComponent(ref)}`, { query: { force: true } }), { 404: undefined });
    }
    /** `docker save` as a stream: one tar with every named image (tags or ids). */
    /**
     * `docker save`. With `platform` (API 1.48 and later) only that platform of a multi-platform image: on the
     * containerd store an image pulled for one platform lacks the other platforms' blobs, and a save of all fails.
     */
    exportImages(names, platform) {
        const query = { names, ...(platform ? { platform: JSON.stringify(platform) } : {}) };
        return this.call(`exporting ${names.length} image(s)`, () => this.request('GET', '/images/get', { query }));
    }
    /** `docker load` from a stream; resolves when the engine has read and loaded all of it. */
    loadImages(archive) {
        return this.call('loading images', async () => {
            const failed = await streamedError(await this.request('POST', '/images/load', { query: { quiet: true }, body: archive }));
            if (failed)
                throw new Error(failed);
        });
    }
    /** A tar stream of `path` inside a container (running or stopped), produced by the engine as root. */
    getArchive(id, path) {
        return this.call(`reading ${path} of ${id.slice(0, 12)}`, () => this.request('GET', `/containers/${encodeURIComponent(id)}/archive`, { query: { path } }));
    }
    /** A tar stream of `path` inside a container, or undefined when the container has no such path. */
    archiveIfExists(id, path) {
        return this.call(`reading ${path} of ${id.slice(0, 12)}`, () => this.request('GET', `/containers/${encodeURIComponent(id)}/archive`, { query: { path } }), { 404: undefined });
    }
    /** Extracts a tar stream into `path` inside a container (created, not necessarily started), as root. */
    putArchive(id, path, archive) {
        return this.call(`writing into ${path} of ${id.slice(0, 12)}`, () => this.send('PUT', `/containers/${encodeURIComponent(id)}/archive`, { query: { path }, body: archive }));
    }
    listAll(filters) {
        const f = filters ? JSON.stringify(filters) : undefined;
        return Promise.all([
            this.getJson('/containers/json', { all: true, filters: f }),
            this.getJson('/volumes', { filters: f }),
            this.getJson('/networks', { filters: f }),
        ]);
    }
    /** Containers, volumes and networks that carry `label` (key=value or key). */
    listLabelled(label) {
        return this.call('listing labelled objects', async () => {
            const [containers, volumes, networks] = await this.listAll({ label: [label] });
            return {
                containers: containers.map((c) => ({ id: c.Id, name: (c.Names?.[0] ?? '').replace(/^\//, ''), state: c.State, labels: c.Labels ?? {} })),
                volumes: (volumes.Volumes ?? []).map((v) => ({ name: v.Name, labels: v.Labels ?? {} })),
                networks: networks.map((n) => ({ id: n.Id, name: n.Name, labels: n.Labels ?? {} })),
            };
        });
    }
    /** Everything on the engine, by id or name: the leak check's before-and-after picture. */
    snapshot() {
        return this.call("listing the engine's objects", async () => {
            const [containers, volumes, networks] = await this.listAll();
            return {
                containers: containers.map((c) => c.Id).sort(),
                volumes: (volumes.Volumes ?? []).map((v) => v.Name).sort(),
                networks: networks.map((n) => n.Id).sort(),
            };
        });
    }
}

;// CONCATENATED MODULE: ./src/background/helper-process.ts
// leaf: the background processes this action leaves running during a job (the port forwarder, pre's run check): the
// flags that start the phase's own bundle as one of them, and whether a recorded pid is still one of them.

const FORWARDER_FLAG = '--setup-dind-forwarder';
const RUN_CHECK_FLAG = '--setup-dind-run-check';
/** Running (a zombie whose parent does not reap it, as under a job container's `tail -f`, counts as gone). */
function alive(pid) {
    try {
        return !/^\d+ \(.*\) Z /s.test((0,external_node_fs_.readFileSync)(`/proc/${pid}/stat`, 'utf8'));
    }
    catch {
        return false;
    }
}
/** `pid` is alive and still runs our bundle with one of `flags` (not a reused pid of something else). */
function runsOurHelper(pid, flags) {
    if (!alive(pid))
        return false;
    try {
        return (0,external_node_fs_.readFileSync)(`/proc/${pid}/cmdline`, 'utf8').split('\0').some((arg) => flags.includes(arg));
    }
    catch {
        return false;
    }
}

// EXTERNAL MODULE: external "node:stream"
var external_node_stream_ = __nccwpck_require__(7075);
;// CONCATENATED MODULE: ./src/session/session.ts
// One id per job: it names and labels every object the action creates, so cleanup removes exactly those, and
// jobs that share an engine (matrix jobs on a self-hosted runner) never collide or see each other.

const LABEL_SESSION = 'io.github.setup-dind.session';
const LABEL_CREATED = 'io.github.setup-dind.created';
const LABEL_JOB = 'io.github.setup-dind.job';
/**
 * The image the run probe loads into the job's daemon and removes again (background/run-probe.ts). It may exist for a
 * moment while the image cache lists the daemon's images, so the cache never counts it (cache/cache.ts).
 */
const PROBE_IMAGE = 'setup-dind-probe:scratch';
const slug = (text, max) => text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, max) || 'x';
/** run id, attempt, job name and a random part: readable in `docker ps`, unique even for matrix legs of one job. */
function newSessionId(job, random = () => (0,external_node_crypto_.randomBytes)(4).toString('hex')) {
    return `${slug(job.runId, 20)}-${slug(job.runAttempt, 4)}-${slug(job.job, 24)}-${random()}`;
}
function sessionLabels(session, job, now = new Date()) {
    return {
        [LABEL_SESSION]: session,
        [LABEL_CREATED]: now.toISOString(),
        [LABEL_JOB]: `${job.runId}/${job.runAttempt}/${job.job}`,
    };
}
/** The name of every object of a session: `setup-dind-<session>`. */
const objectName = (session) => `setup-dind-${session}`;

;// CONCATENATED MODULE: ./src/background/run-probe.ts
// After the daemon answers: can it really run a container? A dockerd that starts is not one that can create
// namespaces, cgroups and networks (too few capabilities, read-only cgroups). The daemon starts empty and no
// registry may be reachable, so the probe loads a one-layer image with no files at all and starts a container whose
// program does not exist: the runtime sets up everything (network, cgroups, namespaces, mounts, the root
// filesystem) before it looks for the program, so "no such file" means the container would have run; any other
// error is what a job's first `docker run` would have met.




const PROGRAM = '/setup-dind-probe-no-such-program';
/** One ustar entry (a regular file); names here are short ASCII. */
function tarEntry(name, data) {
    const header = Buffer.alloc(512);
    header.write(name, 0, 100, 'ascii');
    header.write('0000644\0', 100, 'ascii');
    header.write('0000000\0', 108, 'ascii');
    header.write('0000000\0', 116, 'ascii');
    header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
    header.write('00000000000\0', 136, 'ascii');
    header.write('        ', 148, 'ascii');
    header.write('0', 156, 'ascii');
    header.write('ustar\0' + '00', 257, 'ascii');
    let sum = 0;
    for (const byte of header)
        sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
    const padding = Buffer.alloc((512 - (data.length % 512)) % 512);
    return Buffer.concat([header, data, padding]);
}
const tarOf = (entries) => Buffer.concat([...entries.map(([n, d]) => tarEntry(n, d)), Buffer.alloc(1024)]);
/** A `docker save` archive of an image with one empty layer, tagged PROBE_IMAGE. */
function probeImageArchive(arch) {
    const layer = tarOf([]);
    const diffId = `sha256:${(0,external_node_crypto_.createHash)('sha256').update(layer).digest('hex')}`;
    const config = Buffer.from(JSON.stringify({
        architecture: arch, os: 'linux', config: { Cmd: [PROGRAM] }, rootfs: { type: 'layers', diff_ids: [diffId] }, history: [{ created_by: 'setup-dind run probe' }],
    }));
    const manifest = Buffer.from(JSON.stringify([{ Config: 'config.json', RepoTags: [PROBE_IMAGE], Layers: ['layer/layer.tar'] }]));
    return tarOf([['config.json', config], ['layer/layer.tar', layer], ['manifest.json', manifest]]);
}
/** The runtime's "program not found" answer: everything before exec worked. */
const reachedExec = (message) => message.includes(PROGRAM) && /no such file or directory|not found/i.test(message);
/** Loads the probe image, creates and starts a container, removes both; never leaves anything behind. */
async function probeContainerRun(daemon, arch) {
    const started = performance.now();
    const name = `setup-dind-probe-${(0,external_node_crypto_.randomBytes)(4).toString('hex')}`;
    let id;
    try {
        await daemon.loadImages(external_node_stream_.Readable.from([probeImageArchive(arch)]));
        id = await daemon.createContainer({ name, Image: PROBE_IMAGE, Labels: {}, HostConfig: {} });
        try {
            await daemon.startContainer(id);
        }
        catch (e) {
            const message = e.message;
            return { ok: reachedExec(message), error: reachedExec(message) ? undefined : message, ms: performance.now() - started };
        }
        return { ok: true, ms: performance.now() - started };
    }
    catch (e) {
        return { ok: false, error: e.message, ms: performance.now() - started };
    }
    finally {
        if (id)
            await daemon.removeContainer(id).catch(() => undefined);
        await daemon.removeImage(PROBE_IMAGE).catch(() => undefined);
    }
}

;// CONCATENATED MODULE: ./src/background/port-range.ts
// Every job's published ports are its own on the host. A dind daemon picks a published port that the user left open
// (`-p 80`, compose, testcontainers) from its own network namespace's net.ipv4.ip_local_port_range (moby's
// portallocator reads /proc/sys/net/ipv4/ip_local_port_range: 20.10, 26 and 28 alike), and a new namespace starts
// with the kernel's default, 32768-60999: every job's daemon would hand out 32768 first. The sysctl is per network
// namespace, so the daemon's container is created with a range of its own (HostConfig.Sysctls), a block of the
// host's port space that this job reserved: free when it was chosen, and claimed in a host-wide directory that every
// runner user can write (sticky, like /tmp), one file per block, created exclusively. An entry names the process that
// holds it (pid and command line: the phase while it starts the daemon, then the port forwarder for the rest of the
// job); an entry whose holder is gone, or is another program by now, is stale and may be taken over. Entries are
// kept per network namespace: 127.0.0.1 is that namespace's (a container job has its own).



/** Ports per job: dockerd's ephemeral ports (and its own outgoing connections) come from these. */
const BLOCK_SIZE = 128;
/** Below this a block would sit among well-known service ports. */
const LOWEST_PORT = 10_000;
/** The host-wide directory (a fixed path: every runner user of the host sees the same one). */
const RESERVATIONS_ROOT = '/tmp';
/** Parses ip_local_port_range ("32768\t60999"). */
function parsePortRange(text) {
    const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(text);
    if (!m)
        return undefined;
    const [start, end] = [Number(m[1]), Number(m[2])];
    return start >= 1 && start <= end && end <= 65535 ? { start, end } : undefined;
}
/**
 * The blocks to try, best first: above the host's own ephemeral range (the runner's engine and the host's outgoing
 * connections take ports from that range, so nothing there competes), then below it down to LOWEST_PORT, then,
 * only when neither has room, inside it. Each block starts on an even port and ends on an odd one (the kernel
 * prefers different parity for the two ends).
 */
function candidateBlocks(host, size = BLOCK_SIZE) {
    const blocks = [];
    const even = (n) => n + (n % 2);
    for (let s = even(host.end + 1); s + size - 1 <= 65535; s += size)
        blocks.push({ start: s, end: s + size - 1 });
    for (let e = host.start - 1; e - size + 1 >= LOWEST_PORT; e -= size)
        blocks.push({ start: e - size + 1, end: e });
    const inside = [];
    for (let s = even(host.start); s + size - 1 <= host.end; s += size)
        inside.push({ start: s, end: s + size - 1 });
    return [...blocks, ...inside];
}
/** Local TCP ports that something listens on (or is bound to), from /proc/net/tcp and tcp6 of this namespace. */
function boundPorts(tables) {
    const ports = new Set();
    for (const table of tables) {
        for (const line of table.split('\n').slice(1)) {
            const fields = line.trim().split(/\s+/);
            const [local, , state] = [fields[1], fields[2], fields[3]];
            // 0A: LISTEN, 07: CLOSE (bound, not yet listening). Connections are not reservations.
            if (!local || (state !== '0A' && state !== '07'))
                continue;
            ports.add(parseInt(local.slice(local.lastIndexOf(':') + 1), 16));
        }
    }
    return ports;
}
const sameArgv = (a, b) => a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
/** An entry is live while its holder runs the very command line it was recorded with. */
function entryIsLive(entry, argvOf) {
    return entry !== undefined && sameArgv(argvOf(entry.holder.pid), entry.holder.argv);
}
const entryFile = (dir, b) => (0,external_node_path_.join)(dir, `${b.start}-${b.end}.json`);
function readEntry(file) {
    try {
        return JSON.parse((0,external_node_fs_.readFileSync)(file, 'utf8'));
    }
    catch {
        return undefined;
    }
}
/** Creates the entry only if no file has its name (O_EXCL); false when one does. */
function createExclusive(file, entry) {
    let fd;
    try {
        fd = (0,external_node_fs_.openSync)(file, 'wx', 0o644);
    }
    catch (e) {
        if (e.code === 'EEXIST')
            return false;
        throw e;
    }
    try {
        (0,external_node_fs_.writeSync)(fd, JSON.stringify(entry));
    }
    finally {
        (0,external_node_fs_.closeSync)(fd);
    }
    return true;
}
/**
 * Takes over a stale entry: it goes only if the file is still the one found stale (same inode); a sticky directory
 * lets only its owner remove it, so another user's stale entry stays and its block is skipped.
 */
function removeStale(file, ino) {
    try {
        if ((0,external_node_fs_.lstatSync)(file).ino !== ino)
            return false;
        (0,external_node_fs_.unlinkSync)(file);
        return true;
    }
    catch {
        return false;
    }
}
/**
 * Reserves the first block that no live entry holds and where nothing listens now. Undefined when none is left
 * (the daemon then keeps the kernel's default range, and ports may collide as before: the caller warns).
 */
function reserveBlock(o, deps) {
    const bound = deps.bound();
    for (const block of candidateBlocks(deps.hostRange)) {
        const file = entryFile(deps.dir, block);
        const entry = { ...block, session: o.session, jobDir: o.jobDir, holder: o.holder };
        let created = createExclusive(file, entry);
        if (!created) {
            const ino = (() => {
                try {
                    return (0,external_node_fs_.lstatSync)(file).ino;
                }
                catch {
                    return undefined;
                }
            })();
            if (ino === undefined || entryIsLive(readEntry(file), deps.argvOf) || !removeStale(file, ino))
                continue;
            created = createExclusive(file, entry);
            if (!created)
                continue;
        }
        let taken = false;
        for (let p = block.start; p <= block.end && !taken; p++)
            taken = bound.has(p);
        if (!taken)
            return { ...block, file };
        (0,external_node_fs_.unlinkSync)(file); // something else listens in this block: leave it alone
    }
    return undefined;
}
/** Hands the entry to a new holder (the port forwarder), replacing the file whole (a rename: never half-written). */
function handOver(record, holder) {
    const entry = readEntry(record.file);
    if (!entry)
        return;
    const tmp = `${record.file}.${process.pid}.tmp`;
    (0,external_node_fs_.writeFileSync)(tmp, JSON.stringify({ ...entry, holder }), { mode: 0o644 });
    (0,external_node_fs_.renameSync)(tmp, record.file);
}
/** Post: the entry goes (only ours: the session in it must be this job's). */
function releaseBlock(record, session) {
    if (readEntry(record.file)?.session !== session)
        return false;
    try {
        (0,external_node_fs_.unlinkSync)(record.file);
        return true;
    }
    catch {
        return false;
    }
}
/** The sysctl that gives the daemon's namespace the block. */
const rangeSysctl = (b) => ({ 'net.ipv4.ip_local_port_range': `${b.start} ${b.end}` });
// --- this host, for real ---
/** A pid's command line, or undefined when it is gone or a zombie. */
function argvOf(pid) {
    if (!alive(pid))
        return undefined;
    try {
        const text = (0,external_node_fs_.readFileSync)(`/proc/${pid}/cmdline`, 'utf8');
        return text.replace(/\0$/, '').split('\0');
    }
    catch {
        return undefined;
    }
}
/** The host-wide directory of this network namespace's reservations, created sticky and writable by every user. */
function reservationsDir(root = process.env.SETUP_DIND_PORT_RESERVATIONS || RESERVATIONS_ROOT) {
    let ns = 'default';
    try {
        ns = /\[(\d+)\]/.exec((0,external_node_fs_.readlinkSync)('/proc/self/ns/net'))?.[1] ?? ns;
    }
    catch {
        /* no namespace link: one directory */
    }
    const dir = (0,external_node_path_.join)(root, `setup-dind-ports-${ns}`);
    try {
        (0,external_node_fs_.mkdirSync)(dir, { mode: 0o1777 });
        (0,external_node_fs_.chmodSync)(dir, 0o1777);
    }
    catch (e) {
        if (e.code !== 'EEXIST')
            throw e;
    }
    const st = (0,external_node_fs_.lstatSync)(dir);
    // Another user's symlink or file under that name: not ours to trust.
    if (!st.isDirectory() || (st.mode & 0o1002) !== 0o1002)
        throw new Error(`${dir} is not a sticky directory every user can write (mode ${(st.mode & 0o7777).toString(8)})`);
    return dir;
}
const readOr = (path, fallback) => {
    try {
        return (0,external_node_fs_.readFileSync)(path, 'utf8');
    }
    catch {
        return fallback;
    }
};
function hostDeps(dir = reservationsDir()) {
    return {
        dir,
        hostRange: parsePortRange(readOr('/proc/sys/net/ipv4/ip_local_port_range', '')) ?? { start: 32768, end: 60999 },
        bound: () => boundPorts([readOr('/proc/net/tcp', ''), readOr('/proc/net/tcp6', '')]),
        argvOf,
    };
}
/** This process as a holder. */
const selfHolder = () => ({ pid: process.pid, argv: argvOf(process.pid) ?? process.argv });

;// CONCATENATED MODULE: ./src/background/isolation.ts
// Isolation on a shared host, through the phases: the job's own block of host ports (port-range.ts) reserved before
// the daemon's container is created and released by post; our background processes (the port forwarder, the run
// check) tied to the daemon's container and the job directory, so they end by themselves when either is gone; and
// cleanup-stale ending the background processes of dead jobs on this host.







/** The guard of a started dind session (undefined before its container exists). */
function helperGuard(s) {
    return s?.outer && s.containerId ? { outer: s.outer, container: s.containerId, ...(s.ports ? { ports: s.ports } : {}) } : undefined;
}
/**
 * Before the daemon's container is created: the job's block of host ports, as the sysctl the container gets. None
 * when the ports are not forwarded to 127.0.0.1 (they answer at the daemon's own address, which is the job's alone),
 * with a rootless image (rootlesskit's namespace picks them), or when no block is free (a warning says so).
 */
function reserveJobPorts(o) {
    if (!o.forwardPorts || o.rootless)
        return undefined;
    const s = o.state.value;
    if (!s)
        return undefined;
    try {
        const record = reserveBlock({ session: s.session, jobDir: o.jobDir, holder: selfHolder() }, (o.deps ?? hostDeps)());
        if (!record) {
            o.log.warning('setup-dind: no block of host ports is free for this job; its daemon picks published ports from the kernel\'s default range, where other jobs\' daemons pick them too.');
            return undefined;
        }
        o.state.update({ ports: record });
        return rangeSysctl(record);
    }
    catch (e) {
        o.log.warning(`setup-dind: the job's host ports could not be reserved (${e.message}); its daemon picks published ports from the kernel's default range.`);
        return undefined;
    }
}
/** The launcher's hand-over: the forwarder (its argv as spawned) holds the block from now on. */
function handPortsTo(guard, pid, argv) {
    if (guard?.ports) {
        try {
            handOver(guard.ports, { pid, argv });
        }
        catch {
            /* the entry is gone: post or a reaper took it; nothing to hold */
        }
    }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/**
 * Calls `gone` once, with the reason, as soon as the daemon's container is no longer running (stopped, crashed,
 * removed: the engine's wait answers) or `dir` (the job directory) disappears. Returns a function that stops watching.
 */
function watchLifeline(guard, dir, gone, o = {}) {
    let stopped = false;
    const engine = o.engine ?? new EngineClient(loadEndpoint(guard.outer));
    const stop = () => {
        stopped = true;
        clearInterval(timer);
        engine.close(); // the pending wait must not hold the process
    };
    const end = (why) => {
        if (stopped)
            return;
        stop();
        gone(why);
    };
    const timer = setInterval(() => (0,external_node_fs_.existsSync)(dir) || end(`the job directory ${dir} is gone`), o.pollMs ?? 500);
    const id = guard.container.slice(0, 12);
    void (async () => {
        for (let failures = 0; !stopped;) {
            try {
                const code = await engine.waitContainer(guard.container);
                return end(`the daemon's container ${id} stopped (exit code ${code})`);
            }
            catch (e) {
                if (e instanceof EngineError && e.statusCode === 404)
                    return end(`the daemon's container ${id} is gone`);
                // The engine itself does not answer: a few tries (a restart), then its containers count as gone.
                if (++failures >= 4)
                    return end(`the engine that runs the daemon's container does not answer (${e.message})`);
                await sleep(o.pollMs ?? 500);
            }
        }
    })();
    return stop;
}
/** A live process that runs one of our helpers for `jobDir` (its config file lies there). */
function isOurHelper(argv, jobDir) {
    if (!argv)
        return false;
    const flag = argv.findIndex((a) => a === FORWARDER_FLAG || a === RUN_CHECK_FLAG);
    return flag > 0 && (argv[flag + 1] ?? '').startsWith(`${jobDir}/`);
}
const realEnd = () => ({
    deps: hostDeps(),
    kill: (pid, signal) => process.kill(pid, signal),
    alive: alive,
    removeDir: (dir) => (0,external_node_fs_.rmSync)(dir, { recursive: true, force: true }),
});
/**
 * cleanup-stale, on this host: the background processes of the sessions it reaped end (each verified first: the
 * pid runs the very command line recorded in the session's port entry, one of our helpers for that session's job
 * directory), their port entries go, and so do their job directories (the daemon's socket, TLS keys) when the entry
 * names one of ours. What it ended, in words.
 */
async function endStaleHelpers(sessions, log, end = realEnd()) {
    if (!sessions.size)
        return [];
    const ended = [];
    let names = [];
    try {
        names = (0,external_node_fs_.readdirSync)(end.deps.dir).filter((n) => n.endsWith('.json'));
    }
    catch {
        return ended;
    }
    for (const name of names) {
        const file = (0,external_node_path_.join)(end.deps.dir, name);
        const entry = readEntry(file);
        if (!entry || !sessions.has(entry.session))
            continue;
        const { pid } = entry.holder;
        if (entryIsLive(entry, end.deps.argvOf) && isOurHelper(entry.holder.argv, entry.jobDir)) {
            try {
                end.kill(pid, 'SIGTERM');
                for (let i = 0; i < 40 && end.alive(pid); i++)
                    await sleep(50);
                if (end.alive(pid))
                    end.kill(pid, 'SIGKILL');
                ended.push(`process ${pid} (port forwarder of ${entry.session})`);
            }
            catch (e) {
                log.warning(`cleanup-stale: could not end process ${pid} of ${entry.session}: ${e.message}`);
                continue;
            }
        }
        else if (entryIsLive(entry, end.deps.argvOf)) {
            continue; // a live holder that is not our helper (the phase of a job still starting): not ours to signal
        }
        try {
            (0,external_node_fs_.rmSync)(file, { force: true });
        }
        catch {
            /* another user's entry in the sticky directory: its block stays skipped until that user reclaims it */
        }
        if ((0,external_node_path_.basename)(entry.jobDir) === objectName(entry.session) && ownedByUs(entry.jobDir)) {
            end.removeDir(entry.jobDir);
            ended.push(`directory ${entry.jobDir}`);
        }
    }
    return ended;
}
function ownedByUs(dir) {
    try {
        const st = (0,external_node_fs_.lstatSync)(dir);
        return st.isDirectory() && st.uid === process.getuid?.();
    }
    catch {
        return false;
    }
}

;// CONCATENATED MODULE: ./src/background/run-gate.ts
// The run check off the path to "ready". A daemon without --privileged must prove it can run a container (run-probe.ts)
// before the job uses it, and that proof costs a container start inside the new daemon (0.4 s here). Instead of
// main waiting for it, the job's socket is gated:
// - dockerd listens on DAEMON_SOCKET in the job directory, which only the action uses (main's readiness wait, the
//   probe, the forwarder);
// - the job's socket (JOB_SOCKET, what DOCKER_HOST names) is first a gate: the background run check listens there
//   and holds every connection until its verdict;
// - passed: dockerd's own socket is linked in its place (atomically: a new link renamed over the gate), so later
//   connections reach dockerd directly, and the ones held meanwhile are relayed to it;
// - failed: every request on the job's socket is answered with the check's error, what the daemon's container was
//   granted and the remedy (the docker CLI prints it as "Error response from daemon: setup-dind: ..."), so the job's
//   first docker command fails with the reason instead of the runtime's error; main fails with it too when the
//   verdict is in before main ends.
// The gate ends when dockerd's socket stops answering (the daemon's container is gone).



/** dockerd's own socket in the job directory when the job's socket is gated. */
const DAEMON_SOCKET = 'daemon.sock';
/** The job's socket in the job directory (DOCKER_HOST). */
const JOB_SOCKET = 'docker.sock';
const GONE_CHECK_MS = 2000;
/** The error of a daemon that answers but cannot run a container: what it was granted and the remedy. */
function cannotRunMessage(error, privilege, grant) {
    const granted = grant ? ` Its container runs with ${grant}.` : '';
    const remedy = privilege === 'minimal-capabilities'
        ? 'privileged: false grants only the minimal set, and this engine needs more: use privileged: auto (or true), runtime: sysbox-runc where Sysbox is installed, or mode: socket.'
        : 'Use a runner whose engine allows privileged containers, runtime: sysbox-runc where Sysbox is installed, or mode: socket.';
    return `the daemon answers but cannot run a container (${error}).${granted} ${remedy}`;
}
const inode = (path) => {
    try {
        const st = (0,external_node_fs_.lstatSync)(path);
        return st.isSocket() ? st.ino : undefined;
    }
    catch {
        return undefined;
    }
};
/** The job's socket is in place: the gate, or dockerd's own. */
const jobSocketExists = (jobDir) => inode((0,external_node_path_.join)(jobDir, JOB_SOCKET)) !== undefined;
/** Puts dockerd's own socket at the job's socket, unless it is there already (the check's process did it). */
function ensureDaemonSocket(jobDir) {
    const daemon = inode((0,external_node_path_.join)(jobDir, DAEMON_SOCKET));
    if (daemon === undefined || daemon !== inode((0,external_node_path_.join)(jobDir, JOB_SOCKET)))
        linkDaemonSocket(jobDir);
}
/** Puts dockerd's own socket at the job's socket, replacing whatever is there (the gate) in one step. */
function linkDaemonSocket(jobDir) {
    const tmp = (0,external_node_path_.join)(jobDir, `${JOB_SOCKET}.${process.pid}.link`);
    (0,external_node_fs_.rmSync)(tmp, { force: true });
    (0,external_node_fs_.linkSync)((0,external_node_path_.join)(jobDir, DAEMON_SOCKET), tmp);
    (0,external_node_fs_.renameSync)(tmp, (0,external_node_path_.join)(jobDir, JOB_SOCKET));
}
/** An HTTP error answer for every request on the connection; HEAD requests get no body. */
function answerWithError(socket, first, message) {
    let head = first;
    const body = Buffer.from(`${JSON.stringify({ message })}\n`);
    const answer = () => {
        const isHead = head.subarray(0, 5).toString('latin1') === 'HEAD ';
        socket.end(Buffer.concat([
            Buffer.from(`HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`, 'latin1'),
            isHead ? Buffer.alloc(0) : body,
        ]));
    };
    // Answer once the request's head is in; what follows (a body) is read and dropped, so closing resets nothing.
    if (head.includes('\r\n\r\n'))
        return answer();
    const onData = (chunk) => {
        head = Buffer.concat([head, chunk]);
        if (head.includes('\r\n\r\n') || head.length > 65536) {
            socket.off('data', onData);
            socket.on('data', () => undefined);
            answer();
        }
    };
    socket.on('data', onData);
}
const answers = (path) => new Promise((resolve) => {
    const s = (0,external_node_net_.connect)(path);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
});
/** Listens on the job's socket (put in place by rename, so it never is missing once it exists) and holds. */
async function openGate(jobDir) {
    const daemonSocket = (0,external_node_path_.join)(jobDir, DAEMON_SOCKET);
    const held = new Map();
    let verdict;
    const relay = (client, buffered) => {
        const upstream = (0,external_node_net_.connect)(daemonSocket);
        for (const b of buffered)
            upstream.write(b);
        client.pipe(upstream).pipe(client);
        const end = () => (client.destroy(), upstream.destroy());
        client.once('error', end).once('close', end);
        upstream.once('error', end).once('close', end);
    };
    const settle = (client, buffered) => {
        client.removeAllListeners('data');
        if (verdict.ok)
            relay(client, buffered);
        else
            answerWithError(client, Buffer.concat(buffered), verdict.message);
    };
    const server = (0,external_node_net_.createServer)((client) => {
        client.on('error', () => client.destroy());
        const buffered = [];
        if (verdict)
            return settle(client, buffered);
        held.set(client, buffered);
        client.on('data', (b) => buffered.push(b));
        client.once('close', () => held.delete(client));
    });
    // A name of our own first (a socket is made where it is bound), then renamed to the job's socket; no longer than
    // the job's socket's name (socket paths are short, see dind.ts).
    const ownPath = (0,external_node_path_.join)(jobDir, `.g${process.pid % 1e8}`);
    (0,external_node_fs_.rmSync)(ownPath, { force: true });
    await new Promise((resolve, reject) => server.once('error', reject).listen(ownPath, () => resolve()));
    // As dockerd makes its socket: the user and their group (dockerd's --group is the runner's group), nobody else.
    (0,external_node_fs_.chmodSync)(ownPath, 0o660);
    (0,external_node_fs_.renameSync)(ownPath, (0,external_node_path_.join)(jobDir, JOB_SOCKET));
    const release = () => {
        for (const [client, buffered] of held)
            settle(client, buffered);
        held.clear();
    };
    return {
        pass: () => {
            verdict = { ok: true };
            linkDaemonSocket(jobDir);
            release();
            // A connection made just before the link is still in the listener's queue: accepted (and relayed) before it closes.
            setTimeout(() => server.close(), 1000);
        },
        fail: (message) => {
            verdict = { ok: false, message };
            release();
            const timer = setInterval(() => {
                void answers(daemonSocket).then((up) => {
                    if (up)
                        return;
                    clearInterval(timer);
                    server.close();
                });
            }, GONE_CHECK_MS);
        },
        close: () => {
            server.close();
            for (const client of held.keys())
                client.destroy();
            held.clear();
        },
    };
}

;// CONCATENATED MODULE: ./src/background/run-check.ts
// The run check (run-probe.ts) started early: pre, right after it starts the daemon's container, leaves a small
// process behind that waits until the daemon answers, runs the probe and writes the verdict into the job directory.
// Main then reads the verdict instead of paying the probe (0.6-1 s on a busy runner) after the job's checkout. It is
// the phase's own bundle started again with a flag, like the port forwarder; post stops it if it still runs.












/** The verdict's file in the job directory. */
const RUN_CHECK_RESULT = 'run-check.result.json';
const POLL_MS = 25;
/**
 * A background helper yields the CPU to the daemon's boot and to the job (a 2-core runner is busy while dockerd
 * starts): its waiting and its engine calls are not on anyone's critical path until main asks for the result.
 */
function lowerPriority(pid) {
    try {
        (0,external_node_os_.setPriority)(pid, 10);
    }
    catch {
        /* not allowed here: it runs at normal priority */
    }
}
const run_check_sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/**
 * pre: this bundle started again as a background helper (`flag`, its config file): detached, at lower priority, not
 * holding pre open. Its pid, or undefined when it could not start (main then does the helper's work itself).
 */
function spawnHelper(script, flag, configPath, stdio) {
    const child = (0,external_node_child_process_namespaceObject.spawn)(process.execPath, [script, flag, configPath], { detached: true, stdio, env: { ...process.env, NODE_OPTIONS: '' } });
    child.on('error', () => undefined);
    if (!child.pid)
        return undefined;
    lowerPriority(child.pid);
    child.unref();
    return child.pid;
}
/** pre: starts the run check in the background and returns at once, its pid recorded the moment it exists. */
function startRunCheck(o) {
    if (!o.script)
        return; // the running bundle is unknown: main runs the probe itself
    const configPath = (0,external_node_path_.join)(o.jobDir, 'run-check.json');
    const config = { daemon: saveEndpoint(o.daemon), result: (0,external_node_path_.join)(o.jobDir, RUN_CHECK_RESULT), deadline: Date.now() + o.timeoutMs, gate: o.gate, ...(o.guard ? { guard: o.guard } : {}) };
    (0,external_node_fs_.writeFileSync)(configPath, JSON.stringify(config), { mode: 0o600 });
    const pid = spawnHelper(o.script, RUN_CHECK_FLAG, configPath, 'ignore');
    if (pid)
        o.record({ pid, result: config.result });
}
/**
 * A background helper's wait for the daemon pre started: one probe (/_ping, /version, /info) at a time until it
 * answers; its architecture (what the run check needs), or undefined when `deadline` (epoch ms) passed first.
 */
async function daemonArchBy(client, deadline) {
    while (Date.now() <= deadline) {
        const arch = await client.probe(1000).then((v) => v.arch, () => undefined);
        if (arch !== undefined)
            return arch;
        await run_check_sleep(POLL_MS);
    }
    return undefined;
}
/** The background process: waits for the daemon, probes, writes the verdict. */
async function runRunCheck(configPath) {
    const config = JSON.parse(await (0,promises_namespaceObject.readFile)(configPath, 'utf8'));
    const gated = await gateFor(config.gate);
    const client = new EngineClient(loadEndpoint(config.daemon));
    const stop = config.guard ? watchLifeline(config.guard, (0,external_node_path_.dirname)(configPath), () => process.exit(0)) : undefined;
    const arch = await daemonArchBy(client, config.deadline);
    try {
        if (arch !== undefined)
            await writeVerdict(await probeContainerRun(client, arch), config.result, gated);
        else
            gated?.gate.close();
    }
    finally {
        stop?.();
    }
}
const AFTER_MS = 10_000;
async function gateFor(config, after) {
    try {
        return config ? { gate: await openGate(config.jobDir), config, after } : undefined;
    }
    catch {
        return undefined; // no gate: main finds no job's socket, waits for the verdict and puts dockerd's socket there
    }
}
/** The verdict for main (a file), and for the job's socket when it is gated. */
async function writeVerdict(result, path, gated) {
    if (gated) {
        if (result.ok && gated.after)
            await Promise.race([gated.after, run_check_sleep(AFTER_MS)]);
        if (result.ok)
            gated.gate.pass();
        else
            gated.gate.fail(`setup-dind: ${cannotRunMessage(result.error, gated.config.privilege, gated.config.grant)}`);
    }
    await (0,promises_namespaceObject.writeFile)(`${path}.tmp`, JSON.stringify(result), { mode: 0o600 });
    await (0,promises_namespaceObject.rename)(`${path}.tmp`, path);
}
/** The check inside another process that found the daemon answering (the port forwarder), with its architecture. */
async function checkRuns(client, arch, resultPath, gated) {
    await writeVerdict(await probeContainerRun(client, arch), resultPath, gated);
}
/** Our run check's process, alive: the run check itself, or the port forwarder that runs the check too. */
const running = (pid) => runsOurHelper(pid, [RUN_CHECK_FLAG, FORWARDER_FLAG]);
const readResult = (path) => {
    try {
        return JSON.parse((0,external_node_fs_.readFileSync)(path, 'utf8'));
    }
    catch {
        return undefined;
    }
};
/**
 * main, once the daemon answers: the verdict of the check pre started, waiting for it while its process runs; undefined
 * when there is none (the process is gone without one, or never started): main then runs the probe itself.
 */
async function runCheckVerdict(r, isRunning = running) {
    for (;;) {
        const result = readResult(r.result);
        if (result)
            return result;
        if (!isRunning(r.pid))
            return readResult(r.result);
        await run_check_sleep(POLL_MS);
    }
}
/**
 * main, when the job's socket is gated: the verdict if it is in; 'pending' while the check's process runs (the gate
 * holds the job's docker commands until it is in); undefined when that process is gone without one.
 */
function verdictNow(r, isRunning = running) {
    const result = readResult(r.result);
    if (result)
        return result;
    return isRunning(r.pid) ? 'pending' : readResult(r.result);
}
/**
 * main, when the job's socket is gated: the verdict if it is in, or 'pending' once the gate holds the job's socket;
 * waits while the check's process starts (until one of them is there); undefined when that process is gone first.
 */
async function gateOrVerdict(r, gateUp, isRunning = running) {
    for (;;) {
        const result = readResult(r.result);
        if (result)
            return result;
        if (gateUp())
            return verdictNow(r, isRunning);
        if (!isRunning(r.pid))
            return readResult(r.result);
        await run_check_sleep(10);
    }
}
/** post (and main, when it ran the probe itself): stops the check if it still runs; true when it did. */
async function stopRunCheck(r) {
    if (!running(r.pid))
        return false;
    process.kill(r.pid, 'SIGKILL');
    for (let i = 0; i < 50 && running(r.pid); i++)
        await run_check_sleep(20);
    return true;
}
/** main's summary and log when it leaves the check to the gate. */
const BACKGROUND_CHECK = "the container run check goes on in the background since pre: the job's docker commands wait for its verdict, and get its reason if it fails";
/**
 * dind: a daemon that answers but cannot run a container (too few capabilities for namespaces, cgroups or its
 * network) fails here, with what it was granted and the remedy, instead of at the job's first `docker run`. The check
 * pre started has usually finished by now; without its verdict, main runs the probe itself. Gated (and `mayLeave`:
 * main's own work needs no verdict), main leaves while it runs: the job's socket holds the job's docker commands
 * until the verdict, and answers them with its reason when it fails.
 */
async function checkCanRunContainers(client, arch, s, platform, mayLeave = false) {
    const gated = s?.gated && mayLeave;
    const early = s?.runCheck ? await (gated ? gateOrVerdict(s.runCheck, () => jobSocketExists(s.jobDir)) : runCheckVerdict(s.runCheck)) : undefined;
    if (early === 'pending') {
        platform.log.info(`setup-dind: ${BACKGROUND_CHECK}.`);
        return early;
    }
    const result = early ?? (await probeContainerRun(client, arch));
    if (result.ok) {
        if (s?.gated)
            ensureDaemonSocket(s.jobDir);
        platform.log.info(`setup-dind: the daemon started a test container in ${Math.round(result.ms)} ms${early ? ' (checked in the background since pre)' : ''}.`);
        return result;
    }
    throw new Error(cannotRunMessage(result.error, s?.privilege, s?.privilegeGrant));
}
/** post: the reason of a run check that failed after main had ended (the job's docker commands got it from the gate). */
function lateFailure(s) {
    const late = s.gated && s.ready && s.runCheck ? verdictNow(s.runCheck, () => false) : undefined;
    return late && late !== 'pending' && !late.ok ? `setup-dind: ${cannotRunMessage(late.error, s.privilege, s.privilegeGrant)}` : undefined;
}

;// CONCATENATED MODULE: ./src/background/port-claims.ts
// A fixed port that something else holds on the job's side is refused at once, the way the runner's engine refuses
// it ("port is already allocated"): `docker run -p 8080:80` fails in the job's own step, naming the port, and the
// job's clients never go on to reach someone else's listener at 127.0.0.1:8080.
//
// How: dockerd starts its userland proxy for every published port before the container runs, and a proxy that
// answers "1\n<message>" on its fd 3 fails the start with that message (moby's portmapper: 20.10, 26, 28 alike).
// The daemon's init installs a small wrapper as dockerd's --userland-proxy-path: for a TCP port published on all
// addresses it asks the job's port forwarder, through files in the job directory (which the container sees at
// /run/setup-dind), to listen on that port on the job's side first; the forwarder answers "ok" (it listens now) or
// "taken" with the report. Then the wrapper runs the real docker-proxy with the same arguments and descriptors.
// Without an answer within 3 s (no forwarder), or without the claims directory, it changes nothing.



/** The claims directory's name in the job directory (the forwarder creates it when it follows the daemon). */
const CLAIMS_DIR = 'port-claims';
/** The environment variable that asks the daemon's init to install the wrapper. */
const CLAIMS_ENV = 'SETUP_DIND_PORT_CLAIMS';
const WRAPPER = '/usr/local/bin/setup-dind-userland-proxy';
/** The wrapper: POSIX sh, fixed text (the port comes from dockerd's arguments and is checked to be a number). */
const USERLAND_PROXY_WRAPPER = `#!/bin/sh
proto= hip= hport= prev=
for a in "$@"; do
  case "$prev" in -proto) proto=$a ;; -host-ip) hip=$a ;; -host-port) hport=$a ;; esac
  prev=$a
done
d=${'$'}{SETUP_DIND_CLAIMS_DIR:-/run/setup-dind/${CLAIMS_DIR}}
case "$hip" in 0.0.0.0 | :: | '') all=1 ;; *) all= ;; esac
case "$hport" in '' | *[!0-9]*) hport= ;; esac
if [ "$proto" = tcp ] && [ -n "$all" ] && [ -n "$hport" ] && [ -d "$d" ]; then
  id=$hport-$$
  : > "$d/$id.want"
  i=0
  while [ $i -lt 300 ]; do
    if [ -f "$d/$id.taken" ]; then
      msg=$(cat "$d/$id.taken"); rm -f "$d/$id.taken" "$d/$id.want"
      printf '1\\n%s' "$msg" >&3
      exit 1
    fi
    if [ -f "$d/$id.ok" ]; then rm -f "$d/$id.ok"; break; fi
    sleep 0.01; i=$((i + 1))
  done
  rm -f "$d/$id.want"
fi
exec docker-proxy "$@"
`;
/**
 * The daemon's init: with CLAIMS_ENV set, install the wrapper and give dockerd its path (appended to "$@"); when it
 * cannot be installed, dockerd keeps its own proxy and the forwarder's report is all there is.
 */
const CLAIMS_INIT = `if [ -n "\${${CLAIMS_ENV}:-}" ]; then
  if (umask 022; mkdir -p ${WRAPPER.slice(0, WRAPPER.lastIndexOf('/'))} && cat > ${WRAPPER} <<'SETUP_DIND_WRAPPER'
${USERLAND_PROXY_WRAPPER}SETUP_DIND_WRAPPER
) 2>/dev/null && chmod 755 ${WRAPPER} 2>/dev/null; then set -- "$@" --userland-proxy-path=${WRAPPER}
  else echo "setup-dind: cannot install ${WRAPPER}; a port taken on the job's side is reported by the forwarder only" >&2; fi
fi
`;
/** The container's environment for the claims: none when the user set dockerd's userland proxy (theirs wins). */
function claimsEnvironment(o) {
    if (!o.forwardPorts || o.rootless)
        return [];
    if (o.daemonArgs.some((a) => /^--userland-proxy/.test(a)) || Object.keys(o.daemonConfig).some((k) => k.startsWith('userland-proxy')))
        return [];
    return [`${CLAIMS_ENV}=1`];
}
/** The report for a port that cannot be claimed (the engine prefixes it with the endpoint, naming the container). */
function claimRefusal(port, reason) {
    return (`port ${port} is already allocated on the job's host (127.0.0.1:${port}: ${reason}); setup-dind does not connect this job to another one's port. ` +
        `Publish another host port (-p <free port>:<container port>), or let the daemon choose one (-p <container port>) and read it with docker port`);
}
/**
 * The forwarder's side: creates the claims directory, answers every claim the wrapper leaves there (an "ok" or a
 * "taken" file, written whole, then renamed into place), until the returned function is called (it removes the
 * directory, so a wrapper that comes later goes straight to docker-proxy).
 */
function serveClaims(jobDir, claim, log, pollMs = 100) {
    const dir = (0,external_node_path_.join)(jobDir, CLAIMS_DIR);
    (0,external_node_fs_.mkdirSync)(dir, { recursive: true, mode: 0o700 });
    const busy = new Set();
    const answer = async (name) => {
        const m = /^(\d{1,5})-(\d+)\.want$/.exec(name);
        if (!m || busy.has(name))
            return;
        busy.add(name);
        const port = Number(m[1]);
        const id = `${m[1]}-${m[2]}`;
        let refusal;
        try {
            refusal = port >= 1 && port <= 65535 ? await claim(port) : `port ${showValue(m[1])} is not a port`;
        }
        catch (e) {
            refusal = claimRefusal(port, e.message);
        }
        try {
            const tmp = (0,external_node_path_.join)(dir, `.${id}.tmp`);
            (0,external_node_fs_.writeFileSync)(tmp, refusal ?? '', { mode: 0o644 });
            (0,external_node_fs_.renameSync)(tmp, (0,external_node_path_.join)(dir, `${id}.${refusal ? 'taken' : 'ok'}`));
            (0,external_node_fs_.rmSync)((0,external_node_path_.join)(dir, name), { force: true });
            if (refusal)
                log(`warning: ${refusal}`);
        }
        catch {
            /* the job directory is going away */
        }
        finally {
            busy.delete(name);
        }
    };
    const scan = () => {
        if (!(0,external_node_fs_.existsSync)(dir))
            return;
        for (const name of (0,external_node_fs_.readdirSync)(dir))
            if (name.endsWith('.want'))
                void answer(name);
    };
    let watcher;
    try {
        watcher = (0,external_node_fs_.watch)(dir, scan);
        watcher.on('error', () => undefined);
    }
    catch {
        /* no inotify: the poll below answers */
    }
    const timer = setInterval(scan, pollMs);
    scan();
    return () => {
        clearInterval(timer);
        watcher?.close();
        (0,external_node_fs_.rmSync)(dir, { recursive: true, force: true });
    };
}

;// CONCATENATED MODULE: ./src/background/forwarder.ts
// Published ports of the job's daemon at 127.0.0.1 on the job's side, as with the runner's engine.
//
// The inner daemon publishes `-p 8080:80` inside its own container's network namespace. A small forwarder process
// (this action's own bundle under the same node, started by main, stopped by post) follows the inner daemon's
// container events; for every TCP port a running container publishes on all addresses it listens on 127.0.0.1 (and
// ::1) in the job's network namespace and relays each connection to the daemon container's address, where the
// inner daemon's own NAT takes it to the container. It runs wherever the job's steps run (the runner host, or the
// job container in a container job, whose network the daemon then joins), so it needs no shared network namespace
// with the engine, changes no firewall rule and leaves nothing behind when it stops.












/** The argument that makes an entry point run the forwarder instead of its phase. */

/** The TCP ports a container publishes on every address (the ones the runner's engine would answer at 127.0.0.1). */
function publishedPorts(ports) {
    const forward = new Set();
    const loopbackOnly = new Set();
    for (const [spec, bindings] of Object.entries(ports)) {
        if (!spec.endsWith('/tcp'))
            continue;
        for (const b of bindings) {
            const port = Number(b.hostPort);
            if (!Number.isInteger(port) || port <= 0)
                continue;
            if (['', '0.0.0.0', '::'].includes(b.hostIp))
                forward.add(port);
            else if (b.hostIp === '127.0.0.1' || b.hostIp === '::1')
                loopbackOnly.add(port);
        }
    }
    for (const p of forward)
        loopbackOnly.delete(p);
    return { forward: [...forward].sort((a, b) => a - b), loopbackOnly: [...loopbackOnly].sort((a, b) => a - b) };
}
/** The owner of a port claimed before its container runs (port-claims.ts), with the claim's time. */
const CLAIM = 'claim:';
/**
 * A published port the forwarder cannot listen on, in the words of the runner's engine ("port is already
 * allocated"): the port, the container, what holds it and the remedy. Clients of the job that use that address reach
 * whatever holds it, never this container: the job must pick another port.
 */
function collisionReport(o) {
    const where = o.host.includes(':') ? `[${o.host}]:${o.port}` : `${o.host}:${o.port}`;
    const name = o.container.replace(/^\//, '');
    const who = o.code === 'EADDRINUSE' ? 'is already allocated on this host (another job or program listens there)' : `cannot be listened on (${o.message})`;
    return (`port ${o.port} of container ${name} (${o.id.slice(0, 12)}) is not forwarded: ${where} ${who}; connections to it do not reach this container. ` +
        `Publish it on another host port (-p <free port>:<container port>), or let the daemon choose one (-p <container port>) and read it with docker port.`);
}
/** The listeners for the published ports of running containers; each relays connections to target:port. */
class PortForwarder {
    target;
    listen;
    log;
    byPort = new Map();
    constructor(target, listen, log) {
        this.target = target;
        this.listen = listen;
        this.log = log;
    }
    get ports() {
        return [...this.byPort.keys()].sort((a, b) => a - b);
    }
    /** Makes the forwarded ports of one container (`name`, for the messages) exactly `ports`. */
    async sync(owner, ports, name = owner.slice(0, 12)) {
        for (const [port, entry] of this.byPort)
            if (entry.owner === owner && !ports.includes(port))
                this.closePort(port);
        for (const port of ports) {
            const held = this.byPort.get(port);
            if (held?.owner.startsWith(CLAIM)) {
                // Claimed while the daemon started the container (port-claims.ts): the container's now.
                held.owner = owner;
                this.log(`forwarding ${this.listen.join(', ')} port ${port} to ${this.target}:${port} (container ${owner.slice(0, 12)})`);
            }
            if (held)
                continue;
            await this.open(port, owner, (host, e) => {
                // No IPv6 loopback here: nothing to do. Anything else (the port is taken on the job's side) is said.
                if (e.code !== 'EADDRNOTAVAIL' && e.code !== 'EAFNOSUPPORT')
                    this.log(`warning: ${collisionReport({ host, port, container: name, id: owner, code: e.code, message: e.message })}`);
            });
        }
    }
    /**
     * A port the daemon is about to publish (port-claims.ts): listening on it now. Undefined when it listens (or did
     * already), else the refusal. A claim no container takes within a minute (its start failed) is closed.
     */
    async claim(port, now = Date.now()) {
        for (const [p, entry] of this.byPort)
            if (entry.owner.startsWith(CLAIM) && now - Number(entry.owner.slice(CLAIM.length)) > 60_000)
                this.closePort(p);
        if (this.byPort.has(port))
            return undefined;
        let refusal;
        const opened = await this.open(port, `${CLAIM}${now}`, (host, e) => {
            if (host !== this.listen[0])
                return;
            refusal = e.code === 'EADDRINUSE' ? 'another job or program listens there' : e.message;
        });
        return opened ? undefined : claimRefusal(port, refusal ?? 'it cannot be listened on');
    }
    /** Listens on `port` at every address for `owner`; false when 127.0.0.1 (the first) could not be had. */
    async open(port, owner, failed) {
        const entry = { owner, servers: [], sockets: new Set() };
        this.byPort.set(port, entry);
        for (const host of this.listen) {
            const server = external_node_net_default().createServer({ allowHalfOpen: true }, (client) => this.relay(client, port, entry.sockets));
            const listening = await new Promise((resolve) => {
                server.once('error', (e) => {
                    failed(host, e);
                    resolve(false);
                });
                server.listen({ host, port, exclusive: true }, () => resolve(true));
            });
            if (listening)
                entry.servers.push(server);
            // 127.0.0.1 (the first) is what the job uses; without it the port is not forwarded at all.
            if (!listening && host === this.listen[0])
                break;
        }
        if (entry.servers.length) {
            if (!owner.startsWith(CLAIM))
                this.log(`forwarding ${this.listen.join(', ')} port ${port} to ${this.target}:${port} (container ${owner.slice(0, 12)})`);
            return true;
        }
        this.byPort.delete(port);
        return false;
    }
    release(owner) {
        for (const [port, entry] of this.byPort)
            if (entry.owner === owner)
                this.closePort(port);
    }
    close() {
        for (const port of [...this.byPort.keys()])
            this.closePort(port);
    }
    closePort(port) {
        const entry = this.byPort.get(port);
        if (!entry)
            return;
        this.byPort.delete(port);
        for (const s of entry.servers)
            s.close();
        for (const s of entry.sockets)
            s.destroy();
        this.log(`stopped forwarding port ${port}`);
    }
    relay(client, port, sockets) {
        const upstream = external_node_net_default().connect({ host: this.target, port, allowHalfOpen: true });
        client.setNoDelay(true);
        upstream.setNoDelay(true);
        sockets.add(client);
        sockets.add(upstream);
        const done = () => {
            client.destroy();
            upstream.destroy();
            sockets.delete(client);
            sockets.delete(upstream);
        };
        client.on('error', done);
        upstream.on('error', done);
        // Half-close travels both ways (pipe ends the other side); the pair is done when both are closed.
        let closed = 0;
        const onClose = () => ++closed === 2 && done();
        client.on('close', onClose);
        upstream.on('close', onClose);
        client.pipe(upstream);
        upstream.pipe(client);
    }
}
/**
 * The forwarder's loop: follow events first, then take in the containers already running, so none is missed.
 * Ends when `signal` aborts, or when the daemon's event stream ends and the daemon stops answering.
 */
async function followDaemon(engine, forwarder, log, signal, ready = () => undefined) {
    const syncOne = async (id) => {
        const c = await engine.inspectContainer(id).catch(() => undefined);
        if (!c || !c.running)
            return forwarder.release(id);
        const { forward, loopbackOnly } = publishedPorts(c.ports);
        for (const p of loopbackOnly)
            log(`note: ${c.name} publishes port ${p} on the daemon's loopback only; publish it on all addresses (-p ${p}:...) to reach it at 127.0.0.1:${p}`);
        await forwarder.sync(id, forward, c.name);
    };
    let failures = 0;
    let first = true;
    while (!signal.aborted) {
        try {
            // Subscribed first; containers that started before are found by the listing.
            const events = await engine.containerEvents(signal);
            for (const id of await engine.runningContainers())
                await syncOne(id);
            if (first) {
                first = false;
                ready();
            }
            failures = 0;
            for await (const { id, action } of events) {
                if (action === 'start')
                    await syncOne(id);
                else
                    forwarder.release(id);
            }
        }
        catch (e) {
            if (signal.aborted)
                break;
            log(`the daemon's events: ${e.message}`);
        }
        if (signal.aborted)
            break;
        // The stream ended: the daemon restarted, or is gone. Try again for a while, then stop.
        if (++failures > 10) {
            log('the daemon does not answer any more; the forwarder stops');
            break;
        }
        await new Promise((r) => setTimeout(r, 500 * failures));
    }
    forwarder.close();
}
/** The forwarder process: reads its config, follows the daemon until SIGTERM or the daemon's end. */
async function runForwarder(configPath) {
    const config = JSON.parse((0,external_node_fs_.readFileSync)(configPath, 'utf8'));
    const log = (line) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
    const controller = new AbortController();
    const forwarder = new PortForwarder(config.target, config.listen, log);
    // Stopped by post: at once, whatever engine call is in flight (nothing is left to flush: the log is a file).
    let unclaim;
    const shutdown = (why) => {
        unclaim?.();
        controller.abort();
        forwarder.close();
        log(`stopped (${why})`);
        process.exit(0);
    };
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'])
        process.on(sig, () => shutdown(sig));
    // Nothing outlives its daemon: the container gone or the job directory removed ends the forwarder within a second.
    const unwatch = config.guard ? watchLifeline(config.guard, (0,external_node_path_.dirname)(configPath), shutdown) : undefined;
    if (config.guard)
        handPortsTo(config.guard, process.pid, selfHolder().argv);
    const engine = new EngineClient(loadEndpoint(config.daemon));
    let following = () => undefined;
    const gated = await gateFor(config.runCheckResult ? config.gate : undefined, new Promise((r) => (following = r)));
    // Started by pre: the daemon may not answer yet (its answer gives the run check the architecture).
    const arch = config.deadline !== undefined ? await daemonArchBy(engine, config.deadline) : undefined;
    if (config.deadline !== undefined && arch === undefined) {
        gated?.gate.close();
        log('the daemon did not answer in time; the forwarder stops');
        unwatch?.();
        return;
    }
    log(`following ${config.daemon.host}; published ports go to ${config.target}`);
    if (config.runCheckResult) {
        const check = async () => checkRuns(engine, arch ?? (await engine.version()).arch, config.runCheckResult, gated);
        void check().catch((e) => log(`the run check: ${e.message}`));
    }
    await followDaemon(engine, forwarder, log, controller.signal, () => {
        // Ports the daemon is about to publish are claimed first: one held on this side fails the container's start.
        unclaim ??= serveClaims((0,external_node_path_.dirname)(configPath), (port) => forwarder.claim(port), log);
        following();
        if (config.readyFile)
            (0,external_node_fs_.writeFileSync)(config.readyFile, `${process.pid}\n`, { mode: 0o600 });
        if (process.send) {
            process.send('ready');
            process.disconnect?.();
        }
    });
    unwatch?.();
    unclaim?.();
    log('stopped');
}
/**
 * pre: the forwarder starts while the daemon boots (it waits for it), so main, after the job's checkout, finds it
 * following already. Returns at once; the pid goes to state the moment it exists.
 */
function launchForwarder(o) {
    const configPath = (0,external_node_path_.join)(o.jobDir, 'forwarder.json');
    const readyFile = (0,external_node_path_.join)(o.jobDir, 'forwarder.ready');
    const runCheckResult = o.runCheck ? (0,external_node_path_.join)(o.jobDir, RUN_CHECK_RESULT) : undefined;
    const config = { daemon: saveEndpoint(o.daemon), target: o.target, listen: ['127.0.0.1', '::1'], deadline: Date.now() + o.timeoutMs, readyFile, runCheckResult, gate: o.gate, ...(o.guard ? { guard: o.guard } : {}) };
    (0,external_node_fs_.writeFileSync)(configPath, JSON.stringify(config), { mode: 0o600 });
    const logPath = (0,external_node_path_.join)(o.jobDir, 'forwarder.log');
    const fd = (0,external_node_fs_.openSync)(logPath, 'a', 0o600);
    let pid;
    try {
        pid = spawnHelper(o.script, FORWARDER_FLAG, configPath, ['ignore', fd, fd]);
    }
    finally {
        (0,external_node_fs_.closeSync)(fd);
    }
    if (!pid)
        return; // main starts its own forwarder
    handPortsTo(o.guard, pid, [process.execPath, o.script, FORWARDER_FLAG, configPath]);
    o.record({ pid, log: logPath, script: o.script, ready: readyFile }, runCheckResult ? { pid, result: runCheckResult } : undefined);
}
/**
 * main: the forwarder pre started, once it follows the daemon (its ready file); the same warning as a forwarder that
 * cannot start when it is gone or not following within `timeoutMs`.
 */
async function forwarderFollowing(r, log, env, target, timeoutMs = 10_000, gates = false) {
    const until = Date.now() + timeoutMs;
    // A forwarder that gates the job's socket lets the job through only once it follows: main need not wait for that.
    while (!(0,external_node_fs_.existsSync)(r.ready) && !(gates && alive(r.pid))) {
        const problem = !alive(r.pid) ? 'the port forwarder exited' : Date.now() > until ? `the port forwarder did not follow the daemon within ${timeoutMs / 1000} s` : undefined;
        if (problem) {
            log.warning(`setup-dind: published ports are not forwarded to 127.0.0.1 (${problem}); they answer at the daemon's address ${target}.`);
            return {};
        }
        await new Promise((res) => setTimeout(res, 25));
    }
    return testcontainersHost(env);
}
const testcontainersHost = (env) => 
// testcontainers looks for published ports at the daemon's bridge gateway when it runs inside a container
// (/.dockerenv: self-hosted runners in containers), which is inside the daemon's container here: 127.0.0.1 is right.
env.TESTCONTAINERS_HOST_OVERRIDE === undefined ? { TESTCONTAINERS_HOST_OVERRIDE: '127.0.0.1' } : {};
/**
 * Starts the forwarder as a detached process of its own (it outlives main) with its output in `logPath`; resolves
 * when it follows the daemon's events, so a container started by the very next step is seen.
 */
async function startForwarder(options) {
    const config = { daemon: options.saved, target: options.target, listen: ['127.0.0.1', '::1'], ...(options.guard ? { guard: options.guard } : {}) };
    await options.writeConfig(options.configPath, JSON.stringify(config));
    const fd = (0,external_node_fs_.openSync)(options.logPath, 'a', 0o600);
    let child;
    try {
        child = (0,external_node_child_process_namespaceObject.spawn)(process.execPath, [options.script, FORWARDER_FLAG, options.configPath], {
            detached: true,
            stdio: ['ignore', fd, fd, 'ipc'],
            env: { ...process.env, NODE_OPTIONS: '' },
        });
    }
    finally {
        (0,external_node_fs_.closeSync)(fd);
    }
    const pid = child.pid;
    if (!pid)
        throw new Error('the port forwarder could not be started');
    handPortsTo(options.guard, pid, [process.execPath, options.script, FORWARDER_FLAG, options.configPath]);
    const record = { pid, log: options.logPath, script: options.script };
    options.record(record);
    try {
        await new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`the port forwarder did not follow the daemon within ${(options.timeoutMs ?? 10_000) / 1000} s`)), options.timeoutMs ?? 10_000);
            child.once('message', () => {
                clearTimeout(timer);
                resolve();
            });
            child.once('exit', (code, sig) => {
                clearTimeout(timer);
                reject(new Error(`the port forwarder exited at once (${sig ?? `code ${code}`})`));
            });
        });
    }
    finally {
        if (child.connected)
            child.disconnect();
        child.unref();
    }
    return record;
}
/** Stops the forwarder of this job (only if that pid still runs our bundle); resolves when it is gone. */
async function stopForwarder(r, readCmdline = (pid) => (0,external_node_fs_.readFileSync)(`/proc/${pid}/cmdline`, 'utf8')) {
    let cmdline = '';
    try {
        cmdline = readCmdline(r.pid);
    }
    catch {
        return false; // gone already
    }
    if (!cmdline.split('\0').includes(FORWARDER_FLAG))
        return false; // the pid was reused by something else
    process.kill(r.pid, 'SIGTERM');
    for (let i = 0; i < 50 && alive(r.pid); i++)
        await new Promise((res) => setTimeout(res, 40));
    if (alive(r.pid))
        process.kill(r.pid, 'SIGKILL');
    return true;
}
/**
 * main, once the daemon answers: the forwarder for this job's published ports. A forwarder that cannot start is a
 * warning (the ports still answer at the daemon's address), never a failed step.
 */
async function startPortForwarding(o) {
    const script = o.script ?? process.argv[1];
    try {
        if (!script)
            throw new Error('the running bundle is unknown');
        await startForwarder({
            daemon: o.endpoint,
            saved: saveEndpoint(o.endpoint),
            target: o.target,
            configPath: (0,external_node_path_.join)(o.jobDir, 'forwarder.json'),
            logPath: (0,external_node_path_.join)(o.jobDir, 'forwarder.log'),
            script,
            guard: o.guard,
            record: (forwarder) => o.state.update({ forwarder }),
            writeConfig: (path, text) => (0,promises_namespaceObject.writeFile)(path, text, { mode: 0o600 }),
        });
    }
    catch (e) {
        o.log.warning(`setup-dind: published ports are not forwarded to 127.0.0.1 (${e.message}); they answer at the daemon's address ${o.target}.`);
        return {};
    }
    return testcontainersHost(o.env);
}
/** The forwarder's warnings (a port it could not listen on), for post to repeat where the job's log shows them. */
function forwarderWarnings(r, read = (path) => (0,external_node_fs_.readFileSync)(path, 'utf8')) {
    let text = '';
    try {
        text = read(r.log);
    }
    catch {
        return [];
    }
    return text.split('\n').map((l) => /^\S+ warning: (.*)$/.exec(l)?.[1]).filter((w) => Boolean(w)).slice(0, 20);
}

;// CONCATENATED MODULE: ./src/session/jobdir.ts
// The per-job directory: the socket, certificates, daemon.json and buildkitd.toml live here, private to the runner's
// user (0700), recorded in state before anything is written into it, and removed by post.



async function ensureJobDir(job, state) {
    const current = state.value;
    if (!current)
        throw new Error('ensureJobDir before the session state exists');
    if (current.jobDir)
        return current.jobDir;
    const dir = (0,external_node_path_.join)(job.tempDir, objectName(current.session));
    state.update({ jobDir: dir });
    await (0,promises_namespaceObject.mkdir)(dir, { recursive: true, mode: 0o700 });
    await (0,promises_namespaceObject.chmod)(dir, 0o700);
    return dir;
}

;// CONCATENATED MODULE: ./src/image/reference.ts
// Image references as the docker CLI reads them: which registry a reference names (docker.io when the first part is
// no host), the key its credentials are stored under in the docker config, and the same image through a mirror.
const DOCKER_HUB = 'docker.io';
function parseReference(ref) {
    let rest = ref;
    let digest;
    const at = rest.indexOf('@');
    if (at >= 0) {
        digest = rest.slice(at + 1);
        rest = rest.slice(0, at);
    }
    let tag;
    const colon = rest.lastIndexOf(':');
    if (colon > rest.lastIndexOf('/')) {
        tag = rest.slice(colon + 1);
        rest = rest.slice(0, colon);
    }
    const slash = rest.indexOf('/');
    const first = slash >= 0 ? rest.slice(0, slash) : '';
    const isHost = slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
    let registry = isHost ? first : DOCKER_HUB;
    let repository = isHost ? rest.slice(slash + 1) : rest;
    if (registry === 'index.docker.io' || registry === 'registry-1.docker.io')
        registry = DOCKER_HUB;
    if (registry === DOCKER_HUB && !repository.includes('/'))
        repository = `library/${repository}`;
    return { registry, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}
/** The key of a registry in config.json's auths and credHelpers (Docker Hub's is its legacy v1 URL). */
const authKey = (registry) => (registry === DOCKER_HUB ? 'https://index.docker.io/v1/' : registry);
/** The same image through a docker.io pull-through mirror (https://host[:port][/path]), as a reference. */
function throughMirror(ref, mirror) {
    const host = mirror.replace(/^https?:\/\//, '').replace(/\/+$/, '');
    return `${host}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

;// CONCATENATED MODULE: ./src/daemon/rootless.ts
// Rootless dind images (docker:dind-rootless and images built like it): dockerd runs as the image's own user under
// rootlesskit, started by the image's own entrypoint, which the action keeps (its init would run dockerd as root).
// The daemon is reached over TCP with per-job TLS: its unix socket belongs to the image's user inside a user
// namespace, where the runner's user cannot connect. rootlesskit forwards the port from its network namespace
// (DOCKERD_ROOTLESS_ROOTLESSKIT_FLAGS, which docker's entrypoint honours), and slirp4netns needs /dev/net/tun.



/** A rootless image by its name: a tag or repository that ends in "rootless" (docker:dind-rootless, docker:29-dind-rootless). */
function isRootlessImage(image) {
    const { tag, repository } = parseReference(image);
    return /(^|-)rootless$/.test(tag ?? '') || /-rootless$/.test(repository);
}
/** Inside the container: the server's TLS files, readable by the image's user. */
const ROOTLESS_TLS_DIR = '/run/setup-dind-tls';
/** The device rootlesskit's slirp4netns network needs (the privileged strategy has every device anyway). */
const TUN_DEVICE = '/dev/net/tun';
/**
 * The server's TLS files again, in a directory of their own the image's user can read (the job directory is the
 * runner user's alone, 0700, and stays so: this directory is inside it, so nobody else on the host reaches it).
 */
async function rootlessTlsDir(jobDir) {
    const dir = (0,external_node_path_.join)(jobDir, 'rootless-tls');
    await (0,promises_namespaceObject.mkdir)(dir, { recursive: true, mode: 0o755 });
    await (0,promises_namespaceObject.chmod)(dir, 0o755);
    for (const f of ['ca.pem', 'server-cert.pem', 'server-key.pem']) {
        await (0,promises_namespaceObject.copyFile)((0,external_node_path_.join)(jobDir, 'tls', 'server', f), (0,external_node_path_.join)(dir, f));
        await (0,promises_namespaceObject.chmod)((0,external_node_path_.join)(dir, f), 0o644);
    }
    return dir;
}
/**
 * What a rootless daemon's log says went wrong, as a remedy; undefined when it says nothing we know. rootlesskit
 * fails before dockerd starts when the host does not let the image's user create its user or network namespace.
 */
function rootlessRemedy(log) {
    if (/setting up tap|\/dev\/net\/tun|tuntap/.test(log)) {
        return `rootlesskit could not set up its network: ${TUN_DEVICE} on the engine's host must be usable by the image's user ` +
            '(mode 0666, as most distributions ship it; on this host it is not). Make it so on the host (chmod 0666 /dev/net/tun), or use the root dind image ' +
            '(rootless: false; privileged: false grants only what a nested dockerd needs)';
    }
    if (/newuidmap|newgidmap|uid_map|gid_map|user namespace|unprivileged_userns_clone|max_user_namespaces/i.test(log)) {
        return 'rootlesskit could not create its user namespace: the host must allow user namespaces (user.max_user_namespaces > 0, ' +
            'kernel.unprivileged_userns_clone = 1 where it exists) and the engine must let the container map its subordinate ids ' +
            '(privileged: auto or true; with privileged: false some kernels refuse it). Otherwise use the root dind image (rootless: false)';
    }
    return undefined;
}

;// CONCATENATED MODULE: ./src/endpoint/tls.ts
// Per-job TLS material for a dockerd TCP endpoint: one throw-away CA, a server
// certificate and a client certificate, all ECDSA P-256 / SHA-256.
//
// docker:dind shells out to openssl and spends seconds on 4096-bit RSA keys;
// P-256 keys take microseconds. node:crypto can make keys and signatures but
// not X.509 certificates, so the certificate is assembled here with a minimal
// DER encoder. The CA private key never leaves this function: once the job's
// two leaf certificates exist, nobody can mint another one.




// ---------------------------------------------------------------------------
// DER (X.690) helpers: just the types an X.509 v3 certificate needs.
const tlv = (tag, ...content) => {
    const body = Buffer.concat(content);
    const n = body.length;
    // Short form below 128, otherwise 0x80|count followed by big-endian length bytes.
    const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
    return Buffer.concat([Buffer.from([tag, ...len]), body]);
};
const seq = (...c) => tlv(0x30, ...c);
const set = (...c) => tlv(0x31, ...c);
const octets = (b) => tlv(0x04, b);
const bitString = (b, unusedBits = 0) => tlv(0x03, Buffer.from([unusedBits]), b);
const explicit = (n, inner) => tlv(0xa0 | n, inner); // [n] EXPLICIT (constructed)
const implicit = (n, b) => tlv(0x80 | n, b); // [n] IMPLICIT primitive
const TRUE = Buffer.from([0x01, 0x01, 0xff]); // DER requires 0xff for TRUE
// INTEGER from unsigned big-endian bytes: minimal length, 0x00 prefix if the high bit is set.
const uint = (b) => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0)
        i++;
    const v = b.subarray(i);
    return tlv(0x02, v[0] & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
};
const oid = (dotted) => {
    const [a, b, ...rest] = dotted.split('.').map(Number);
    const out = [40 * a + b];
    for (const arc of rest) {
        const base128 = [arc & 0x7f]; // base-128, high bit marks "more bytes follow"
        for (let v = arc >>> 7; v > 0; v >>>= 7)
            base128.unshift((v & 0x7f) | 0x80);
        out.push(...base128);
    }
    return tlv(0x06, Buffer.from(out));
};
// RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; always UTC with seconds, 'Z'.
const time = (d) => {
    const s = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z'; // YYYYMMDDHHMMSSZ
    return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(s.slice(2))) : tlv(0x18, Buffer.from(s));
};
// ---------------------------------------------------------------------------
// X.509 pieces.
const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2')); // parameters MUST be absent (RFC 5758)
const tls_name = (cn) => seq(set(seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn, 'utf8'))))); // CN as UTF8String
const ext = (id, critical, value) => critical ? seq(oid(id), TRUE, octets(value)) : seq(oid(id), octets(value)); // DEFAULT FALSE is omitted in DER
// keyUsage BIT STRING: bit 0 is the MSB; DER drops trailing zero bits and counts them as unused.
const KU = { digitalSignature: 0, keyAgreement: 4, keyCertSign: 5, cRLSign: 6 };
const keyUsage = (...bits) => {
    const byte = bits.reduce((acc, b) => acc | (0x80 >> b), 0);
    return ext('2.5.29.15', true, bitString(Buffer.from([byte]), 7 - Math.max(...bits)));
};
const extKeyUsage = (purpose) => ext('2.5.29.37', false, seq(oid(purpose === 'serverAuth' ? '1.3.6.1.5.5.7.3.1' : '1.3.6.1.5.5.7.3.2')));
// Key identifier = SHA-1 of the subjectPublicKey bits (RFC 5280 4.2.1.2, method 1). For an
// uncompressed P-256 point these are the last 65 bytes of the SPKI.
const keyId = (spki) => (0,external_node_crypto_.createHash)('sha1').update(spki.subarray(-65)).digest();
const ipBytes = (ip) => {
    if ((0,external_node_net_.isIP)(ip) === 4)
        return Buffer.from(ip.split('.').map(Number));
    let s = ip;
    const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s); // ::ffff:1.2.3.4 -> two hex groups
    if (v4) {
        const b = ipBytes(v4[1]);
        s = s.slice(0, v4.index) + b.readUInt16BE(0).toString(16) + ':' + b.readUInt16BE(2).toString(16);
    }
    const [head, tail] = s.split('::');
    const groups = (x) => (x ? x.split(':') : []);
    const h = groups(head), t = groups(tail);
    const all = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
    const out = Buffer.alloc(16);
    all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), 2 * i));
    return out;
};
const DNS_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;
const isDnsName = (n) => {
    const labels = n.split('.');
    return n.length <= 253 && labels.every((l) => DNS_LABEL.test(l)) && !/^\d+$/.test(labels.at(-1)); // no all-numeric TLD: catches '256.1.1.1'
};
const san = (names) => ext('2.5.29.17', false, seq(...names.map((n) => ((0,external_node_net_.isIP)(n) ? implicit(7, ipBytes(n)) : implicit(2, Buffer.from(n, 'ascii'))))));
// Positive 16-byte serial: high bit cleared so no 0x00 pad is needed, first byte non-zero so it stays minimal.
const serial = () => {
    const b = (0,external_node_crypto_.randomBytes)(16);
    b[0] = b[0] & 0x7f || 1;
    return uint(b);
};
const certificate = (c) => {
    const tbs = seq(explicit(0, uint(Buffer.from([2]))), // version v3
    serial(), ECDSA_SHA256, c.issuer, seq(time(c.notBefore), time(c.notAfter)), c.subject, c.spki, // SubjectPublicKeyInfo exactly as node exports it
    explicit(3, seq(...c.extensions)));
    const sig = (0,external_node_crypto_.sign)('sha256', tbs, { key: c.signer, dsaEncoding: 'der' });
    const der = seq(tbs, ECDSA_SHA256, bitString(sig));
    return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`;
};
// ---------------------------------------------------------------------------
function generateTls(opts) {
    const { serverNames, validDays = 7, now = new Date(), commonName = 'setup-dind CA' } = opts;
    if (!Array.isArray(serverNames) || serverNames.length === 0)
        throw new Error('TLS serverNames must list at least one IP address or DNS name, got []');
    for (const n of serverNames) {
        if (typeof n !== 'string' || n.includes('%') || !((0,external_node_net_.isIP)(n) || isDnsName(n)))
            throw new Error(`TLS server name ${JSON.stringify(n)} is neither an IP address nor a valid DNS name`);
    }
    if (!(validDays > 0 && Number.isFinite(validDays)))
        throw new Error(`TLS validDays must be a positive number, got ${validDays}`);
    if (Number.isNaN(now.getTime()))
        throw new Error('TLS now is an invalid Date');
    const notBefore = new Date(now.getTime() - 5 * 60_000); // tolerate clock skew between runner and daemon
    const notAfter = new Date(now.getTime() + validDays * 86_400_000);
    const newKey = () => {
        const { privateKey, publicKey } = (0,external_node_crypto_.generateKeyPairSync)('ec', { namedCurve: 'prime256v1' });
        return { privateKey, spki: publicKey.export({ type: 'spki', format: 'der' }) };
    };
    const pkcs8 = (k) => k.export({ type: 'pkcs8', format: 'pem' });
    const ca = newKey();
    const caName = tls_name(commonName);
    const caKeyId = keyId(ca.spki);
    const caCert = certificate({
        subject: caName, issuer: caName, spki: ca.spki, signer: ca.privateKey, notBefore, notAfter,
        extensions: [
            ext('2.5.29.19', true, seq(TRUE, uint(Buffer.from([0])))), // CA:TRUE, pathlen:0
            keyUsage(KU.keyCertSign, KU.cRLSign),
            ext('2.5.29.14', false, octets(caKeyId)),
        ],
    });
    const leaf = (cn, purpose, extra) => {
        const k = newKey();
        const cert = certificate({
            subject: tls_name(cn), issuer: caName, spki: k.spki, signer: ca.privateKey, notBefore, notAfter,
            extensions: [
                ext('2.5.29.19', true, seq()), // CA:FALSE (cA DEFAULT FALSE, so the SEQUENCE is empty)
                keyUsage(KU.digitalSignature, KU.keyAgreement),
                extKeyUsage(purpose),
                ext('2.5.29.14', false, octets(keyId(k.spki))),
                ext('2.5.29.35', false, seq(implicit(0, caKeyId))), // authorityKeyIdentifier.keyIdentifier
                ...extra,
            ],
        });
        return { cert, key: pkcs8(k.privateKey) };
    };
    const server = leaf('setup-dind server', 'serverAuth', [san(serverNames)]);
    const client = leaf('setup-dind client', 'clientAuth', []);
    return { caCert, serverCert: server.cert, serverKey: server.key, clientCert: client.cert, clientKey: client.key };
}
// Layout: <dir>/client = DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem); <dir>/server = dockerd --tls* files.
async function writeTls(dir, files) {
    const root = (0,external_node_path_.resolve)(dir);
    const clientDir = (0,external_node_path_.join)(root, 'client');
    const serverDir = (0,external_node_path_.join)(root, 'server');
    for (const d of [root, clientDir, serverDir]) {
        await (0,promises_namespaceObject.mkdir)(d, { recursive: true, mode: 0o700 });
        await (0,promises_namespaceObject.chmod)(d, 0o700); // mkdir's mode is filtered by umask and ignored for existing dirs
    }
    const put = async (path, data, mode) => {
        await (0,promises_namespaceObject.rm)(path, { force: true }); // fresh inode: never write a key into an old, wider-mode file or through a symlink
        await (0,promises_namespaceObject.writeFile)(path, data, { mode, flag: 'wx' });
        await (0,promises_namespaceObject.chmod)(path, mode); // umask must not matter
    };
    await put((0,external_node_path_.join)(clientDir, 'ca.pem'), files.caCert, 0o644);
    await put((0,external_node_path_.join)(clientDir, 'cert.pem'), files.clientCert, 0o644);
    await put((0,external_node_path_.join)(clientDir, 'key.pem'), files.clientKey, 0o600);
    await put((0,external_node_path_.join)(serverDir, 'ca.pem'), files.caCert, 0o644);
    await put((0,external_node_path_.join)(serverDir, 'server-cert.pem'), files.serverCert, 0o644);
    await put((0,external_node_path_.join)(serverDir, 'server-key.pem'), files.serverKey, 0o600);
    return { clientDir, serverDir };
}

;// CONCATENATED MODULE: ./src/like-runner/host-paths.ts
// Bind mounts name paths on the engine's host. When the action itself runs in a container (a GitHub `container:`
// job, GitLab's docker executor) with the host's socket mounted, its own paths differ from the host's: find our
// container on the engine and translate through its mounts.


/** Our own container id, as the engine's runtime wrote it into our mount table (hostname, resolv.conf), if any. */
function ownContainerId(mountinfo) {
    return /\/(?:docker\/)?containers\/([0-9a-f]{64})\//.exec(mountinfo)?.[1];
}
/** Translates `path` through the container's mounts (longest destination first); undefined when none covers it. */
function translatePath(path, mounts) {
    const covering = mounts
        .filter((m) => m.type === 'bind' || m.type === 'volume')
        .filter((m) => path === m.destination || path.startsWith(m.destination.endsWith('/') ? m.destination : `${m.destination}/`))
        .sort((a, b) => b.destination.length - a.destination.length)[0];
    if (!covering)
        return undefined;
    return external_node_path_.posix.join(covering.source, external_node_path_.posix.relative(covering.destination, path));
}
async function hostPathTranslator(engine, env, readMountinfo = () => (0,promises_namespaceObject.readFile)('/proc/self/mountinfo', 'utf8')) {
    const id = env.SETUP_DIND_CONTAINER_ID || ownContainerId(await readMountinfo().catch(() => ''));
    if (!id)
        return (path) => path;
    const self = await engine.inspectContainer(id).catch(() => undefined);
    // Our container is not on this engine (say, a remote daemon): the paths are the engine host's already.
    if (!self)
        return (path) => path;
    const translate = (path) => {
        const hostPath = translatePath(path, self.mounts);
        if (!hostPath) {
            throw new Error(`the action runs in container ${self.name}, and ${path} is not on a volume or bind mount of it, so the dind ` +
                'container cannot share its socket there. Put the job\'s temporary directory on a mounted path (RUNNER_TEMP on GitHub; --state-dir or SETUP_DIND_STATE_DIR for the CLI), or use tcp: true with network.');
        }
        return hostPath;
    };
    translate.container = { name: self.name, networks: self.networks };
    return translate;
}

;// CONCATENATED MODULE: ./src/image/credentials.ts
// The runner's own registry credentials for pulling the dind image, found as the docker CLI finds them: a credential
// helper for that registry (credHelpers), else the credential store (credsStore), else auths in config.json.



/** A helper's name as config.json gives it: a plain name, never a path (docker runs docker-credential-<name>). */
const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** The helper's program: docker-credential-<name>, for a plain name only (never a path). */
function helperProgram(name) {
    if (!HELPER_NAME.test(name))
        throw new Error(`the credential helper ${JSON.stringify(name)} in the docker config is not a helper name; fix credHelpers or credsStore`);
    return 'docker-credential-' + name;
}
/** Runs docker-credential-<name> get with the server address on stdin (the helper protocol); no shell. */
const runHelper = (name, serverAddress) => new Promise((resolve, reject) => {
    const child = (0,external_node_child_process_namespaceObject.execFile)(helperProgram(name), ['get'], { timeout: 10_000 }, (error, stdout, stderr) => {
        if (error)
            reject(new Error(`docker-credential-${name} get failed: ${(stderr || stdout || error.message).trim()}`));
        else
            resolve(stdout);
    });
    child.stdin?.end(serverAddress);
});
async function fromHelper(name, key, helper) {
    helperProgram(name); // a name that is no plain name is an error here, with any helper
    let text;
    try {
        text = await helper(name, key);
    }
    catch (e) {
        // "credentials not found in native keychain" is an answer: nothing stored for this registry.
        if (/not found/i.test(e.message))
            return undefined;
        throw e;
    }
    const parsed = JSON.parse(text);
    if (!parsed.Secret)
        return undefined;
    return parsed.Username === '<token>' ? { identitytoken: parsed.Secret, serveraddress: key } : { username: parsed.Username, password: parsed.Secret, serveraddress: key };
}
function fromAuths(entry, key) {
    if (entry.identitytoken)
        return { identitytoken: entry.identitytoken, serveraddress: key };
    if (entry.auth) {
        const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon > 0)
            return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), serveraddress: key };
    }
    if (entry.username && entry.password)
        return { username: entry.username, password: entry.password, serveraddress: key };
    return undefined;
}
/** The runner user's credentials for `registry`, or undefined; a helper that fails is an error naming it. */
async function runnerCredentials(registry, env, helper = runHelper) {
    const configDir = dockerConfigDir(env);
    const config = readDockerConfig(configDir);
    const key = authKey(registry);
    const where = `${configDir}/config.json`;
    const named = config.credHelpers?.[registry] ?? config.credHelpers?.[key];
    if (named) {
        const auth = await fromHelper(named, key, helper);
        return auth && { auth, source: `docker-credential-${named} (credHelpers in ${where})` };
    }
    const entry = config.auths?.[key] ?? config.auths?.[registry];
    if (config.credsStore) {
        const auth = await fromHelper(config.credsStore, key, helper).catch((e) => {
            if (entry)
                return undefined; // the store failed, auths may still hold them
            throw e;
        });
        if (auth)
            return { auth, source: `docker-credential-${config.credsStore} (credsStore in ${where})` };
    }
    const auth = entry && fromAuths(entry, key);
    return auth && { auth, source: `auths in ${where}` };
}

;// CONCATENATED MODULE: ./src/image/pull.ts

/** What a failed pull means, from the engine's message (the registry's status and error code end up in it). */
function classifyPullError(message) {
    // The engine answers 500 to every failed pull ("(HTTP code 500) server error - "): only the registry's part counts.
    const registry = message.replace(/\(HTTP code \d+\) [a-z ]+ - /gi, '');
    if (/toomanyrequests|too many requests|\b429\b|rate limit/i.test(registry))
        return 'rate-limit';
    if (/\b50[0-4] (internal server error|bad gateway|service unavailable|gateway time-?out)|internal server error|bad gateway|service unavailable|gateway time-?out/i.test(registry))
        return 'server';
    return 'other';
}
const realSleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** One source, retried with exponential backoff while the registry limits or fails; the last error otherwise. */
async function pullWithRetries(engine, ref, auth, o) {
    const attempts = o.attempts ?? 3;
    for (let i = 1;; i++) {
        try {
            await engine.pullImage(ref, auth?.auth);
            return {};
        }
        catch (e) {
            const kind = classifyPullError(e.message);
            if (kind === 'other' || i >= attempts)
                return { error: e, kind };
            const delay = (o.baseDelayMs ?? 2000) * 2 ** (i - 1);
            o.log.warning(`Pulling ${ref}: ${kind === 'rate-limit' ? 'the registry\'s pull rate limit (429 Too Many Requests)' : 'the registry failed (5xx)'}; attempt ${i + 1} of ${attempts} in ${(delay / 1000).toFixed(0)} s.`);
            await (o.sleep ?? realSleep)(delay);
        }
    }
}
function remedy(kind, ref, registry, authenticated) {
    if (kind === 'rate-limit') {
        return `${registry === DOCKER_HUB ? 'Docker Hub' : registry} refused more pulls: its pull rate limit (429 Too Many Requests), which anonymous pulls from shared runner addresses reach quickly. ` +
            `${authenticated ? '' : 'Log in before this step (docker login) or give image-username and image-password; '}give a mirror (image-mirror or registry-mirrors), ` +
            'or keep the image in a registry of your own (input image).';
    }
    if (kind === 'server')
        return `the registry failed repeatedly (5xx); try again later, or give a mirror (image-mirror or registry-mirrors).`;
    return `check that ${ref} exists and that this runner may pull it (credentials: docker login before this step, or image-username and image-password).`;
}
/**
 * Makes `ref` available on the engine; returns the reference to run (the original, or the same image through the
 * mirror that had it). Throws a message naming the rate limit, the sources tried and the remedy.
 */
async function supplyImage(engine, ref, o) {
    if (await engine.imageExists(ref))
        return ref;
    const parsed = parseReference(ref);
    const auth = await o.authFor(parsed.registry);
    o.log.info(`Pulling ${ref} (not present on the engine)${auth ? ` with credentials from ${auth.source}` : ''}`);
    const first = await pullWithRetries(engine, ref, auth, o);
    if (!first.error)
        return ref;
    const tried = [`${ref}: ${first.error.message}`];
    const mirrors = parsed.registry === DOCKER_HUB ? o.mirrors : [];
    for (const mirror of mirrors) {
        const viaMirror = throughMirror(parsed, mirror);
        if (await engine.imageExists(viaMirror))
            return viaMirror;
        const mirrorAuth = await o.authFor(parseReference(viaMirror).registry);
        const r = await pullWithRetries(engine, viaMirror, mirrorAuth, o);
        if (!r.error) {
            o.log.warning(`Pulled the dind image through the mirror ${mirror} (${viaMirror}): ${ref} could not be pulled (${first.error.message}).`);
            return viaMirror;
        }
        tried.push(`${viaMirror}: ${r.error.message}`);
    }
    throw new Error(`could not pull the dind image: ${tried.join('; ')}. ${remedy(first.kind, ref, parsed.registry, auth !== undefined)}`);
}

;// CONCATENATED MODULE: ./src/daemon/image-supply.ts



/** The reference the container runs: the image itself, or the same image through the mirror that had it. */
async function supplyDindImage(engine, inputs, platform) {
    const { image } = inputs.dind;
    const explicit = inputs.imageSupply.credentials;
    if (explicit)
        platform.mask(explicit.password);
    const imageRegistry = parseReference(image).registry;
    return supplyImage(engine, image, {
        mirrors: [...(inputs.imageSupply.mirror ? [inputs.imageSupply.mirror] : []), ...inputs.registry.mirrors],
        authFor: async (registry) => {
            if (explicit && registry === imageRegistry) {
                return { auth: { ...explicit, serveraddress: authKey(registry) }, source: 'inputs image-username and image-password' };
            }
            return runnerCredentials(registry, platform.env);
        },
        log: platform.log,
    });
}

;// CONCATENATED MODULE: ./src/cache/tar.ts
const isFifoTar = (t) => typeof t.fifo === 'string' && t.made instanceof Promise;
/** The tar as a stream through this process, whatever its shape. */
const tarStream = (t) => (isFifoTar(t) ? t.stream() : t);

;// CONCATENATED MODULE: ./src/cache/zstd.ts
// Multi-threaded zstd through the zstd binary, streaming both ways: archives never pass through a temporary tar.


class ZstdError extends Error {
}
function zstdFailure(args, code, stderr, spawnError) {
    if (spawnError?.code === 'ENOENT') {
        return new ZstdError('zstd is not installed; install it (apt-get install zstd, apk add zstd) to use the image cache');
    }
    return new ZstdError(`zstd ${args.join(' ')} failed (exit ${code}): ${stderr.trim() || spawnError?.message || 'no message'}`);
}
/**
 * Compresses `source` into `file` with every core (-T0). A tar in a FIFO is read by zstd itself (the bytes skip this
 * process); it resolves only when the FIFO's writer succeeded too, so a tar cut short never passes as complete.
 */
function compressToFile(source, file, level = 3) {
    return isFifoTar(source) ? compressFifo(source, file, level) : compressStream(source, file, level);
}
async function compressFifo(tar, file, level) {
    // zstd opens the FIFO itself: its open waits for the writer in zstd, not in this process.
    const args = [`-${level}`, '-T0', '-q', '-f', '-o', file, '--', tar.fifo];
    const compressed = new Promise((resolve, reject) => {
        const child = (0,external_node_child_process_namespaceObject.spawn)('zstd', args, { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        let spawnError;
        child.stderr.on('data', (d) => (stderr += d));
        child.on('error', (e) => (spawnError = e));
        // A writer that failed may never have opened the FIFO: zstd would wait for it for ever.
        tar.made.catch(() => child.kill('SIGKILL'));
        child.on('close', (code) => (code === 0 && !spawnError ? resolve() : reject(zstdFailure(args, code, stderr, spawnError))));
    });
    const [made, done] = await Promise.allSettled([tar.made, compressed]);
    if (made.status === 'rejected')
        throw made.reason;
    if (done.status === 'rejected')
        throw done.reason;
}
function compressStream(source, file, level) {
    const args = [`-${level}`, '-T0', '-q', '-f', '-o', file];
    return new Promise((resolve, reject) => {
        const child = (0,external_node_child_process_namespaceObject.spawn)('zstd', args, { stdio: ['pipe', 'ignore', 'pipe'] });
        let stderr = '';
        let spawnError;
        child.stderr.on('data', (d) => (stderr += d));
        child.on('error', (e) => (spawnError = e));
        source.on('error', (e) => {
            child.kill('SIGKILL');
            reject(e);
        });
        child.stdin.on('error', () => undefined); // a dying zstd is reported by its exit code
        source.pipe(child.stdin);
        child.on('close', (code) => (code === 0 && !spawnError ? resolve() : reject(zstdFailure(args, code, stderr, spawnError))));
    });
}
/** Decompresses `file` as a stream; `done` rejects when zstd fails (a corrupt or truncated archive). */
function decompressFile(file) {
    const args = ['-d', '-q', '-c', file];
    const child = (0,external_node_child_process_namespaceObject.spawn)('zstd', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let spawnError;
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (e) => (spawnError = e));
    const done = new Promise((resolve, reject) => {
        child.on('close', (code) => {
            if (code === 0 && !spawnError)
                resolve();
            else {
                const error = zstdFailure(args, code, stderr, spawnError);
                child.stdout.destroy(error);
                reject(error);
            }
        });
    });
    done.catch(() => undefined);
    return { stream: child.stdout, done };
}

;// CONCATENATED MODULE: ./src/cache/tar-source.ts
// An entry's tar as a backend hands it over: read as a stream through this process (docker load over the engine's
// API), or written by a child process straight into a file, a FIFO that a container reads (the data-root restore),
// so that hundreds of megabytes never pass through Node. Through Node, a FIFO restore took twice as long as
// `zstd -d | tar -x` on a busy 2-core runner: one more process in the chain, and every chunk copied twice.




/**
 * A backend's restore: hands the source to `consume` and returns once both ends have settled (a child still writing
 * must not outlive a consumer that failed: it is ended). Throws what failed, the consumer's error first.
 */
async function consumeSource(tar, consume) {
    const [consumed] = await Promise.allSettled([consume(tar.source)]);
    if (consumed.status === 'rejected')
        tar.abort();
    const [child] = await Promise.allSettled([tar.settled()]);
    const reasons = [...new Set([consumed, child].flatMap((r) => (r.status === 'rejected' ? [r.reason.message] : [])))];
    if (reasons.length)
        throw new Error(reasons.join('; '));
}
/**
 * Runs the child `start` makes with its stdout on `path`, opened for writing first (a FIFO blocks until its reader
 * opens it); `describe` turns its failure into an error.
 */
async function childInto(path, start, describe, track) {
    const handle = await (0,promises_namespaceObject.open)(path, 'w');
    try {
        await new Promise((resolve, reject) => {
            const child = start(handle.fd);
            track(() => child.kill('SIGKILL'));
            let stderr = '';
            let spawnError;
            child.stderr.on('data', (d) => (stderr += d));
            child.on('error', (e) => (spawnError = e));
            // Our copy of the write end goes at once: the reader sees the end of the file when the child exits.
            void handle.close().catch(() => undefined);
            child.on('close', (code) => (code === 0 && !spawnError ? resolve() : reject(describe(code, stderr, spawnError))));
        });
    }
    finally {
        await handle.close().catch(() => undefined);
    }
}
function started(stream, into) {
    let running = Promise.resolve();
    let kill = () => undefined;
    // settled() hands the child's outcome on; until someone asks, its failure is no unhandled rejection.
    const track = (done) => {
        running = done;
        done.catch(() => undefined);
        return done;
    };
    return {
        source: {
            stream: () => {
                const s = stream();
                track(s.done);
                kill = s.kill;
                return s.stream;
            },
            writeTo: (path) => track(into(path, (k) => (kill = k))),
        },
        settled: () => running,
        abort: () => kill(),
    };
}
/** The tar inside a zstd-compressed file: zstd decompresses it into the stream or the FIFO. */
function zstdTar(file) {
    const args = ['-d', '-q', '-c', file];
    return started(() => {
        const d = decompressFile(file);
        return { stream: d.stream, done: d.done, kill: () => d.stream.destroy() };
    }, (path, track) => childInto(path, (stdout) => (0,external_node_child_process_namespaceObject.spawn)('zstd', args, { stdio: ['ignore', stdout, 'pipe'] }), (code, stderr, error) => zstdFailure(args, code, stderr, error), track));
}
/** A plain tar file: read as a stream, or copied into the FIFO by cat. */
function fileTar(file) {
    return started(() => {
        const s = (0,external_node_fs_.createReadStream)(file);
        return { stream: s, done: new Promise((resolve, reject) => s.on('close', resolve).on('error', reject)), kill: () => s.destroy() };
    }, (path, track) => childInto(path, (stdout) => (0,external_node_child_process_namespaceObject.spawn)('cat', [file], { stdio: ['ignore', stdout, 'pipe'] }), (code, stderr, error) => new Error(`copying ${file} failed (${error?.message ?? `exit ${code}`}): ${stderr.trim() || 'no message'}`), track));
}

;// CONCATENATED MODULE: ./src/cache/directory.ts
// A cache directory (GitLab's `cache:`, a self-hosted runner's disk): one `<key>.tar.zst` per entry, written to a
// temporary name and renamed, so a crash never leaves a half entry under a real key.
//
// Entries are scoped by git ref, so that a ref anyone may push to cannot hand a protected ref its daemon state:
//
//   <dir>/protected/<ref>/<key>.tar.zst      written by jobs of protected branches and tags
//   <dir>/unprotected/<ref>/<key>.tar.zst    written by every other ref
//
// A job writes into its own ref's directory only. It restores from its own ref's directory first, then from the
// protected directories of its fallback refs (a merge request's target, the default branch): a protected ref never
// reads an unprotected entry, and an unprotected ref never reads another unprotected ref's. Eviction after a save
// removes only entries of the saved key's own prefix in its own ref's directory.




const SUFFIX = '.tar.zst';
const fileOf = (dir, key) => (0,external_node_path_.join)(dir, `${encodeURIComponent(key)}${SUFFIX}`);
/** A ref as one directory name: encoded (a ref may hold `/`), never `.` or `..`; '%none' outside CI (`%` never ends an encoding). */
function refDirName(ref) {
    if (!ref)
        return '%none';
    return encodeURIComponent(ref).replace(/^\.+$/, (dots) => '%2E'.repeat(dots.length));
}
/** The directory a ref's entries live in. */
const scopeDir = (dir, ref) => (0,external_node_path_.join)(dir, ref.protected ? 'protected' : 'unprotected', refDirName(ref.name));
async function entriesIn(dir) {
    let names;
    try {
        names = await (0,promises_namespaceObject.readdir)(dir);
    }
    catch (e) {
        if (e.code === 'ENOENT')
            return [];
        throw e;
    }
    const out = [];
    for (const name of names) {
        if (!name.endsWith(SUFFIX))
            continue;
        const file = (0,external_node_path_.join)(dir, name);
        const info = await (0,promises_namespaceObject.stat)(file);
        if (info.isFile())
            out.push({ key: decodeURIComponent(name.slice(0, -SUFFIX.length)), file, mtime: info.mtimeMs, bytes: info.size });
    }
    return out;
}
/** The exact key, else the newest entry whose key starts with a restore key (tried in order). */
function pick(all, primaryKey, restoreKeys) {
    let match = all.find((e) => e.key === primaryKey);
    for (const prefix of restoreKeys) {
        if (match)
            break;
        match = all.filter((e) => e.key.startsWith(prefix)).sort((a, b) => b.mtime - a.mtime)[0];
    }
    return match;
}
class DirectoryBackend {
    name;
    /** Where this job's entries are written. */
    own;
    /** Where it may restore from, in order: its own directory, then its fallback refs' protected directories. */
    readable;
    constructor(dir, ref) {
        this.name = `directory ${dir}`;
        this.own = scopeDir(dir, ref);
        const fallbacks = ref.fallbacks.map((name) => scopeDir(dir, { name, protected: true }));
        this.readable = [this.own, ...fallbacks.filter((d, i) => d !== this.own && fallbacks.indexOf(d) === i)];
    }
    async abandon() {
        const names = await (0,promises_namespaceObject.readdir)(this.own).catch(() => []);
        for (const name of names)
            if (name.endsWith(`.partial-${process.pid}`))
                await (0,promises_namespaceObject.rm)((0,external_node_path_.join)(this.own, name), { force: true });
    }
    async restore(primaryKey, restoreKeys, consume) {
        let match;
        for (const dir of this.readable) {
            match = pick(await entriesIn(dir), primaryKey, restoreKeys);
            if (match)
                break;
        }
        if (!match)
            return undefined;
        // Both ends settle before the restore returns; a zstd that failed fails it too (a corrupt entry).
        await consumeSource(zstdTar(match.file), consume);
        return { key: match.key, bytes: match.bytes };
    }
    async save(key, produce, maxBytes, supersedes = []) {
        const target = fileOf(this.own, key);
        if ((await entriesIn(this.own)).some((e) => e.key === key))
            return { outcome: 'exists', bytes: 0 };
        await (0,promises_namespaceObject.mkdir)(this.own, { recursive: true });
        const partial = `${target}.partial-${process.pid}`;
        try {
            await compressToFile(await produce(), partial);
            const bytes = (await (0,promises_namespaceObject.stat)(partial)).size;
            if (maxBytes !== undefined && bytes > maxBytes)
                return { outcome: 'too-large', bytes };
            await (0,promises_namespaceObject.rename)(partial, target);
            // GitLab keeps whatever the directory holds: without this it would grow with every changed pipeline. Only this
            // ref's entries of the key's own prefix go; other jobs', other legs' and other refs' stay.
            for (const old of await entriesIn(this.own)) {
                if (old.key !== key && supersedes.some((prefix) => old.key.startsWith(prefix)))
                    await (0,promises_namespaceObject.rm)(old.file, { force: true });
            }
            return { outcome: 'saved', bytes };
        }
        finally {
            await (0,promises_namespaceObject.rm)(partial, { force: true });
        }
    }
}

;// CONCATENATED MODULE: ./src/platform/platform.ts
// What the core needs from the CI system it runs on. GitHub, GitLab/plain shells and tests each implement it,
// so no core module imports @actions/* or knows where it runs.
/** An answer of a cache management API other than success: `status` is the HTTP status (0: no answer). */
class CacheApiError extends Error {
    status;
    constructor(status, message) {
        super(message);
        this.status = status;
        this.name = 'CacheApiError';
    }
}

;// CONCATENATED MODULE: ./src/cache/lifecycle.ts
// The lifecycle of entries in a CI system's cache service (GitHub's): every save makes a new entry (the default key
// holds the run), and a repository's quota is filled oldest-first, so daemon snapshots would soon evict its other
// caches. After a save, the older entries of the same key prefix on the same ref are deleted through the service's
// management API, keeping the newest `cache-keep`. Nothing here fails a job: a token without the permission is a
// notice that says how to grant it, anything else a warning.

/** The prefix whose older entries a save supersedes: the longest restore key that the saved key starts with. */
function prunePrefix(key, restoreKeys) {
    return restoreKeys.filter((k) => k && key.startsWith(k) && k !== key).sort((a, b) => b.length - a.length)[0];
}
/** Which listed entries go: all but the newest `keep` (by creation) and the entry just saved. */
function entriesToRemove(listed, savedKey, keep) {
    const newestFirst = [...listed].sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || b.id - a.id);
    return newestFirst.slice(keep).filter((e) => e.key !== savedKey);
}
const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const PERMISSION_REMEDY = 'Grant it in the workflow with `permissions: actions: write` (on the job or the workflow), or set cache-keep: all to keep every entry.';
/** After a save of `savedKey`: deletes the older entries of its prefix on this ref, keeping the newest `keep`. */
async function pruneOlderEntries(inventory, saved, keep, log) {
    const prefix = prunePrefix(saved.key, saved.restoreKeys);
    if (!prefix) {
        return { message: `no older entries removed: ${saved.key} has no restore key prefix to group entries by (set cache-restore-keys)`, summary: '', removed: [] };
    }
    const notice = (m) => (log.notice ? log.notice(m) : log.info(m));
    const removed = [];
    try {
        const listed = await inventory.list(prefix);
        for (const entry of entriesToRemove(listed, saved.key, keep)) {
            await inventory.remove(entry.id);
            removed.push(entry);
        }
    }
    catch (e) {
        const denied = e instanceof CacheApiError && (e.status === 403 || e.status === 401);
        const done = removed.length ? ` (${removed.length} removed before that)` : '';
        if (denied) {
            notice(`setup-dind cache: older entries of ${prefix}* on ${inventory.ref} were not removed: the token may not manage the Actions cache (${e.message})${done}. ${PERMISSION_REMEDY}`);
        }
        else {
            log.warning(`setup-dind cache: removing older entries of ${prefix}* failed (${e.message})${done}; the job is not affected.`);
        }
        return report(prefix, inventory.ref, keep, removed, denied ? 'the token lacks actions: write' : 'an error');
    }
    return report(prefix, inventory.ref, keep, removed);
}
function report(prefix, ref, keep, removed, stoppedBy) {
    const bytes = removed.reduce((n, e) => n + e.sizeBytes, 0);
    const what = removed.length
        ? `removed ${removed.length} older ${removed.length === 1 ? 'entry' : 'entries'} of ${prefix}* on ${ref} (${mb(bytes)}): ${removed.map((e) => e.key).join(', ')}`
        : `no older entries of ${prefix}* on ${ref} to remove (keeping the newest ${keep})`;
    const message = stoppedBy ? `${removed.length ? what : 'no older entries removed'}; stopped by ${stoppedBy}` : what;
    const rows = removed.map((e) => `| \`${e.key}\` | ${mb(e.sizeBytes)} | ${e.createdAt} |`).join('\n');
    const summary = `### setup-dind cache\n\n${message.replace(/\|/g, '\\|')}.\n\n` +
        (removed.length ? `| removed entry | size | created |\n|---|---|---|\n${rows}\n\n` : '') +
        (stoppedBy === 'the token lacks actions: write' ? `${PERMISSION_REMEDY}\n\n` : '');
    return { message, summary, removed };
}

;// CONCATENATED MODULE: external "node:stream/promises"
const external_node_stream_promises_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:stream/promises");
;// CONCATENATED MODULE: ./src/cache/service.ts
// A CI system's cache service as a cache backend (GitHub's, through the platform). Such a service takes paths, not
// streams: the tar goes to a file in a fixed directory (the same path every run, because the path is part of the
// entry's version), and the service compresses it (GitHub: multi-threaded zstd). Every failure of the service is a
// warning, never the job's. The staging directory is removed after each transfer and by abandon().






class ServiceBackend {
    service;
    name;
    dir;
    constructor(service, tempDir) {
        this.service = service;
        this.name = service.name;
        this.dir = (0,external_node_path_.join)(tempDir, 'setup-dind-cache');
    }
    async abandon() {
        await (0,promises_namespaceObject.rm)(this.dir, { recursive: true, force: true });
    }
    async restore(primaryKey, restoreKeys, consume) {
        await (0,promises_namespaceObject.rm)(this.dir, { recursive: true, force: true });
        await (0,promises_namespaceObject.mkdir)(this.dir, { recursive: true });
        try {
            const key = await this.service.restore([this.dir], primaryKey, restoreKeys);
            if (!key)
                return undefined;
            const file = (0,external_node_path_.join)(this.dir, 'payload.tar');
            const bytes = (await (0,promises_namespaceObject.stat)(file)).size;
            await consumeSource(fileTar(file), consume);
            return { key, bytes };
        }
        finally {
            await (0,promises_namespaceObject.rm)(this.dir, { recursive: true, force: true });
        }
    }
    async save(key, produce, maxBytes) {
        await (0,promises_namespaceObject.rm)(this.dir, { recursive: true, force: true });
        await (0,promises_namespaceObject.mkdir)(this.dir, { recursive: true });
        try {
            const file = (0,external_node_path_.join)(this.dir, 'payload.tar');
            await (0,external_node_stream_promises_namespaceObject.pipeline)(tarStream(await produce()), (0,external_node_fs_.createWriteStream)(file));
            const bytes = (await (0,promises_namespaceObject.stat)(file)).size;
            // The service stores what zstd makes of it; the tar's size bounds that from above.
            if (maxBytes !== undefined && bytes > maxBytes)
                return { outcome: 'too-large', bytes, detail: 'uncompressed size' };
            const saved = await this.service.save([this.dir], key);
            return { ...saved, bytes };
        }
        finally {
            await (0,promises_namespaceObject.rm)(this.dir, { recursive: true, force: true });
        }
    }
}

;// CONCATENATED MODULE: ./src/cache/cache.ts
// The image cache through a job: restore before the first step (images: docker load into the job's daemon in main;
// data-root: the daemon's data root, restored into its volume in pre before dockerd starts), save in post only
// when the images changed. Nothing here may fail a job: every problem becomes a warning and a cold daemon.






const cache_slug = (text) => text.toLowerCase().replace(/[^a-z0-9.]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60);
/** Sorted keys all the way down: the same matrix values give the same text whatever order JSON had them in. */
function canonical(value) {
    if (Array.isArray(value))
        return value.map(canonical);
    if (value && typeof value === 'object') {
        return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical(value[k])]));
    }
    return value;
}
/**
 * A leg of a matrix as a short digest of its values; 'none' outside a matrix (GitHub's matrix context is then null).
 * GitHub hands the matrix over as JSON (toJSON(matrix), key order and layout irrelevant); GitLab as "[a, b]".
 */
function matrixDigest(matrix) {
    const text = matrix.trim();
    let value = text;
    try {
        value = canonical(JSON.parse(text));
    }
    catch {
        // not JSON (GitLab's "[a, b]", "2/3"): the text itself
    }
    if (value === '' || value === null || (typeof value === 'object' && !Array.isArray(value) && !Object.keys(value).length))
        return 'none';
    return (0,external_node_crypto_.createHash)('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 12);
}
/**
 * Default keys: what makes entries compatible (cache kind, OS, architecture, mode, image), the job and its matrix leg,
 * then the run, so each run can write a fresh entry. `_` ends the job's and the leg's part (a slug has none), so no
 * job's prefix is a prefix of another job's. A leg restores its own entries first, then its job's newest of any leg.
 */
function cacheKeys(inputs, job) {
    const settings = inputs.cache;
    const image = inputs.mode === 'dind' ? `-${cache_slug(inputs.dind.image)}` : '';
    const jobPrefix = `setup-dind-${settings.strategy}-${process.platform}-${process.arch}-${inputs.mode}${image}_${cache_slug(job.name) || 'job'}_`;
    const leg = matrixDigest(job.matrix);
    const legPrefix = `${jobPrefix}${leg}_`;
    return {
        key: settings.key ?? `${legPrefix}${cache_slug(job.runId)}-${cache_slug(job.runAttempt)}`,
        restoreKeys: settings.restoreKeys ?? (settings.key ? [] : leg === 'none' ? [legPrefix] : [legPrefix, jobPrefix]),
    };
}
/**
 * A new record and its backend (a directory when cache-dir is set, else the CI system's cache service), or undefined
 * with a warning when there is no backend.
 */
function startCache(inputs, platform) {
    const settings = inputs.cache;
    if (!settings)
        return undefined;
    const dir = cacheDir(settings, platform);
    const backend = backendFor(dir, platform);
    if (!backend) {
        platform.log.warning('The image cache needs a cache service (GitHub Actions) or cache-dir; none is available here, so the cache is off for this job.');
        return undefined;
    }
    const { key, restoreKeys } = cacheKeys(inputs, platform.job);
    return { backend, record: { settings, key, restoreKeys, backend: backend.name, ...(dir ? { dir } : {}), hit: 'false' } };
}
/** cache-dir as a path (relative to the workspace when it is not absolute); undefined when it is not set. */
const cacheDir = (settings, platform) => settings.dir ? ((0,external_node_path_.isAbsolute)(settings.dir) ? settings.dir : (0,external_node_path_.resolve)(platform.job.workspace, settings.dir)) : undefined;
/** A directory when there is one, else the CI system's cache service (staged in the job's temporary directory). */
function backendFor(dir, platform) {
    if (dir)
        return new DirectoryBackend(dir, platform.job.ref);
    const service = platform.cacheService();
    return service && new ServiceBackend(service, platform.job.tempDir);
}
const backendFromRecord = (record, platform) => backendFor(record.dir, platform);
function matches(pattern, tag) {
    const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
    // "busybox" selects every tag of busybox; "busybox:1" only that one.
    return regex.test(tag) || (!pattern.includes(':') && regex.test(tag.replace(/:[^:/]+$/, '')));
}
/** The images the cache keeps: their ids (for change detection) and the references to save them by. */
async function selectImages(engine, patterns) {
    // The run probe's image comes and goes while the job's daemon starts (pre's background check runs beside main's
    // restore): it is never the job's, so it never makes the images "changed".
    const images = (await engine.listImages()).filter((i) => !i.tags.includes(PROBE_IMAGE));
    const chosen = patterns.length ? images.filter((i) => i.tags.some((t) => patterns.some((p) => matches(p, t)))) : images;
    return {
        ids: [...new Set(chosen.map((i) => i.id))].sort(),
        refs: chosen.flatMap((i) => (i.tags.length ? i.tags : [i.id])),
    };
}
/**
 * Cache transfers get a deadline: GitHub's cache client has none for uploads, and a stalled service must never keep
 * post from removing the daemon. SETUP_DIND_CACHE_TIMEOUT_SECONDS changes it (default 10 minutes; 3 on GitLab, whose
 * after_script has 5 minutes).
 */
function cacheDeadlineMs(env) {
    const seconds = Number(env.SETUP_DIND_CACHE_TIMEOUT_SECONDS);
    if (Number.isFinite(seconds) && seconds > 0)
        return seconds * 1000;
    // GitLab gives after_script 5 minutes in all: the save must leave time to stop and remove the daemon.
    return env.GITLAB_CI === 'true' ? GITLAB_CACHE_DEADLINE_MS : 600_000;
}
const GITLAB_CACHE_DEADLINE_MS = 180_000;
class DeadlineError extends Error {
}
/** The promise's result, or a DeadlineError after `ms` (the work itself is abandoned, not cancelled). */
function withDeadline(work, ms, what) {
    let timer;
    const deadline = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new DeadlineError(`${what} did not finish within ${Math.round(ms / 1000)} s and was given up`)), ms);
    });
    work.catch(() => undefined); // a late failure of abandoned work is not news
    return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
const sameIds = (a, b) => a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
/**
 * Restores an entry with `consume`; a failure is a warning and a miss. `waitedMs`: how long the consumer waited for
 * what a job without a cache waits for too (the daemon's container starting); the time reported leaves it out.
 */
async function restoreEntry(backend, record, consume, log, deadlineMs = 600_000, waitedMs = () => 0) {
    const started = performance.now();
    try {
        const entry = await withDeadline(backend.restore(record.key, record.restoreKeys, consume), deadlineMs, `restoring from ${backend.name}`);
        if (!entry) {
            log.info(`setup-dind cache: no entry for ${record.key}${record.restoreKeys.length ? ` or ${record.restoreKeys.join(', ')}*` : ''} in ${backend.name}.`);
            return { ...record, hit: 'false' };
        }
        // Time the consumer spent waiting for something every job waits for (the daemon's container to start) is not the restore's.
        const waited = waitedMs() / 1000;
        const seconds = (performance.now() - started) / 1000 - waited;
        const besides = waited >= 0.005 ? `, besides ${waited.toFixed(2)} s waiting for the daemon's container to start` : '';
        log.info(`setup-dind cache: restored ${entry.key} (${cache_mb(entry.bytes)}) from ${backend.name} in ${seconds.toFixed(2)} s${besides}.`);
        return { ...record, hit: entry.key === record.key ? 'true' : 'partial', restoredKey: entry.key, restoredBytes: entry.bytes, restoreSeconds: seconds };
    }
    catch (e) {
        if (e instanceof DeadlineError)
            await backend.abandon?.().catch(() => undefined);
        log.warning(`setup-dind cache: restoring from ${backend.name} failed (${e.message}); the daemon starts cold.`);
        return { ...record, hit: 'false', failed: true };
    }
}
const cache_mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
/**
 * post: saves when the selected images differ from what was restored (or always, per cache-save). `produce` makes
 * the tar (docker save, or the stopped daemon's data root); `prepare` runs first when saving (stopping the daemon).
 */
async function saveEntry(backend, record, current, produce, log, prepare, deadlineMs = 600_000, jobStatus = 'success') {
    const { settings } = record;
    if (settings.save === 'never')
        return 'not saved: cache-save is never';
    if (settings.save === 'on-success' && jobStatus !== 'success')
        return `not saved: the job did not succeed (${jobStatus || 'unknown'}), and cache-save is on-success`;
    if (!current.ids.length)
        return 'not saved: no images to keep';
    if ((settings.save === 'on-change' || settings.save === 'on-success') && sameIds(record.fingerprint, current.ids)) {
        return `not saved: the images are unchanged since ${record.restoredKey ? `the restore of ${record.restoredKey}` : 'the start'}`;
    }
    const started = performance.now();
    try {
        await prepare?.();
        // Only the key's own prefix is superseded (a matrix leg's, not its job's): other legs' entries stay.
        const superseded = prunePrefix(record.key, record.restoreKeys);
        const result = await withDeadline(backend.save(record.key, () => produce(current.refs), settings.maxBytes, superseded ? [superseded] : []), deadlineMs, `saving to ${backend.name}`);
        const seconds = ((performance.now() - started) / 1000).toFixed(2);
        switch (result.outcome) {
            case 'saved':
                return `saved ${record.key} (${cache_mb(result.bytes)}, ${current.ids.length} images) to ${backend.name} in ${seconds} s`;
            case 'exists':
                log.warning(`setup-dind cache: ${record.key} exists already and entries are immutable; use a key that changes (the default adds the run) to save changed images.`);
                return 'not saved: the key exists';
            case 'too-large':
                log.warning(`setup-dind cache: not saved, ${cache_mb(result.bytes)} is above cache-max-size (${cache_mb(settings.maxBytes ?? 0)}).`);
                return 'not saved: too large';
            default:
                log.warning(`setup-dind cache: saving to ${backend.name} failed${result.detail ? ` (${result.detail})` : ''}.`);
                return 'not saved: the backend failed';
        }
    }
    catch (e) {
        if (e instanceof DeadlineError)
            await backend.abandon?.().catch(() => undefined);
        log.warning(`setup-dind cache: saving failed (${e.message}); the job is not affected.`);
        return 'not saved: an error';
    }
}

;// CONCATENATED MODULE: ./src/cache/dind-image.ts


const REPO = 'setup-dind/dind-image';
/** The entry's key and the image's name in it, for a reference pinned by digest; undefined otherwise. */
function dindImageEntry(image) {
    const digest = parseReference(image).digest;
    if (!digest || !/^sha256:[a-f0-9]{64}$/.test(digest))
        return undefined;
    const hex = digest.slice('sha256:'.length);
    return { key: `setup-dind-dind-image-${process.platform}-${process.arch}-${hex}`, repo: REPO, tag: hex };
}
/**
 * pre, before the pull: the reference to run when the cache supplies the image (already there from an earlier job,
 * or restored now); else the record post saves from once the pull has brought it. Every failure is a warning.
 */
async function restoreDindImage(engine, image, settings, platform) {
    const entry = dindImageEntry(image);
    if (!entry || (await engine.imageExists(image)))
        return {};
    const ours = `${entry.repo}:${entry.tag}`;
    if (await engine.imageExists(ours))
        return { ref: ours };
    const dir = cacheDir(settings, platform);
    const backend = backendFor(dir, platform);
    if (!backend)
        return {};
    const record = { image, ...entry, ...(dir ? { dir } : {}) };
    const started = performance.now();
    try {
        const restored = await withDeadline(backend.restore(entry.key, [], (tar) => engine.loadImages(tar.stream())), cacheDeadlineMs(platform.env), `restoring the dind image from ${backend.name}`);
        if (restored && (await engine.imageExists(ours))) {
            platform.log.info(`setup-dind cache: the dind image ${image} came from ${backend.name} (${cache_mb(restored.bytes)} in ${((performance.now() - started) / 1000).toFixed(2)} s), not from its registry.`);
            return { ref: ours };
        }
    }
    catch (e) {
        await backend.abandon?.().catch(() => undefined);
        platform.log.warning(`setup-dind cache: the dind image could not be restored from ${backend.name} (${e.message}); it is pulled.`);
    }
    return { record };
}
/** post: the image pre pulled goes into its entry (once: entries are immutable). Never throws; says what happened. */
async function saveDindImage(engine, record, platform) {
    const backend = backendFor(record.dir, platform);
    if (!backend)
        return 'the dind image: not saved, no cache backend';
    try {
        await engine.tagImage(record.image, record.repo, record.tag);
        const name = `${record.repo}:${record.tag}`;
        try {
            const result = await withDeadline(backend.save(record.key, () => engine.exportImages([name]), undefined), cacheDeadlineMs(platform.env), `saving the dind image to ${backend.name}`);
            if (result.outcome === 'saved')
                return `the dind image: saved ${record.key} (${cache_mb(result.bytes)})`;
            return `the dind image: not saved (${result.outcome}${result.detail ? `: ${result.detail}` : ''})`;
        }
        finally {
            await engine.untagImage(name).catch(() => undefined); // a name the engine had not before; the image itself stays
        }
    }
    catch (e) {
        await backend.abandon?.().catch(() => undefined);
        return `the dind image: not saved (${e.message})`;
    }
}

;// CONCATENATED MODULE: ./src/platform/private-file.ts
// Files that may hold a key: written into a fresh file that is 0600 from the moment it exists (never into an old,
// wider-mode file, never through a symlink), given its final mode, then renamed over the target.



async function writeFileNoWindow(path, data, mode = 0o600) {
    const temp = (0,external_node_path_.join)((0,external_node_path_.dirname)(path), `.${(0,external_node_path_.basename)(path)}.${process.pid}.${(0,external_node_crypto_.randomBytes)(4).toString('hex')}`);
    // O_EXCL: the temporary name is new (a planted file or symlink makes this fail instead of being written through).
    const handle = await (0,promises_namespaceObject.open)(temp, 'wx', 0o600);
    try {
        await handle.writeFile(data);
        await handle.close();
        await (0,promises_namespaceObject.chmod)(temp, mode);
        await (0,promises_namespaceObject.rename)(temp, path);
    }
    catch (e) {
        await handle.close().catch(() => undefined);
        await (0,promises_namespaceObject.rm)(temp, { force: true });
        throw e;
    }
}

;// CONCATENATED MODULE: ./src/engine/readiness.ts
const realClock = {
    now: () => performance.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};
class NotReadyError extends Error {
    elapsedMs;
    lastError;
    constructor(message, elapsedMs, lastError) {
        super(message);
        this.elapsedMs = elapsedMs;
        this.lastError = lastError;
        this.name = 'NotReadyError';
    }
}
const describeError = (e) => {
    const err = e;
    const text = err?.message ?? String(e);
    return err?.code && !text.includes(err.code) ? `${err.code}: ${text}` : text;
};
async function waitUntilReady(options) {
    const clock = options.clock ?? realClock;
    const firstDelay = options.firstDelayMs ?? 20;
    const maxDelay = options.maxDelayMs ?? 1000;
    const maxAttempt = options.maxAttemptMs ?? 2000;
    const start = options.startedAt ?? clock.now();
    const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
    let delay = firstDelay;
    let attempts = 0;
    let lastError = 'no attempt was made';
    for (;;) {
        const elapsed = clock.now() - start;
        const remaining = options.timeoutMs - elapsed;
        if (remaining <= 0) {
            throw new NotReadyError(`${options.target} did not answer within ${seconds(options.timeoutMs)} (${attempts} attempts); last error: ${lastError}. ` +
                'Check that the address is right and the daemon is running; raise wait-timeout if it is just slow.', elapsed, lastError);
        }
        attempts++;
        try {
            const version = await options.probe(Math.max(50, Math.min(maxAttempt, remaining)));
            return { version, elapsedMs: clock.now() - start, attempts };
        }
        catch (e) {
            lastError = describeError(e);
        }
        const reason = await options.giveUp?.();
        if (reason !== undefined) {
            const elapsedNow = clock.now() - start;
            throw new NotReadyError(`${options.target} will not become ready: ${reason} (after ${seconds(elapsedNow)}, ${attempts} attempts; last error: ${lastError})`, elapsedNow, lastError);
        }
        const left = options.timeoutMs - (clock.now() - start);
        if (left <= 0)
            continue;
        await clock.sleep(Math.min(delay, left));
        delay = Math.min(maxDelay, Math.ceil(delay * 1.5));
    }
}

;// CONCATENATED MODULE: ./src/registry/buildkit.ts
const ESCAPES = { '\\': '\\\\', '"': '\\"', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r' };
/** A TOML basic string: backslash, quote and control characters escaped (TOML 1.0, "String"). */
const tomlString = (s) => `"${s.replace(/[\\"\u0000-\u001f\u007f]/g, (c) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`)}"`;
const tomlArray = (items) => `[${items.map(tomlString).join(', ')}]`;
function buildkitdToml(settings, certs) {
    const tables = new Map();
    const table = (host) => {
        let t = tables.get(host);
        if (!t)
            tables.set(host, (t = { ca: [], keypairs: [] }));
        return t;
    };
    const notes = [];
    if (settings.mirrors.length) {
        // BuildKit mirrors are host[:port][/path] without a scheme.
        table('docker.io').mirrors = settings.mirrors.map((m) => m.replace(/^https?:\/\//i, '').replace(/\/+$/, ''));
    }
    const plainHttp = new Set();
    for (const mirror of settings.mirrors) {
        if (!/^http:\/\//i.test(mirror))
            continue;
        const host = new URL(mirror).host; // the key BuildKit looks the mirror's settings up by
        plainHttp.add(host);
        table(host).http = true;
    }
    for (const entry of settings.insecure) {
        if (entry.includes('/')) {
            if (/^[0-9a-f.:/]+$/i.test(entry))
                notes.push(`# insecure-registries ${entry}: BuildKit has no CIDR setting; list such registries by host[:port] to reach them from BuildKit`);
            continue;
        }
        const t = table(entry);
        t.http = true;
        // HTTPS without verification first, then plain HTTP (BuildKit >= 0.12.3): dockerd's insecure-registries.
        // A mirror given as http:// is known to be plain HTTP and gets only http = true.
        if (!plainHttp.has(entry))
            t.insecure = true;
    }
    for (const c of certs) {
        const t = table(c.host);
        if (c.ca && !t.ca.includes(c.ca))
            t.ca.push(c.ca);
        if (c.key && c.cert)
            t.keypairs.push({ key: c.key, cert: c.cert });
    }
    if (tables.size === 0 && notes.length === 0)
        return '';
    const out = ['# Generated by setup-dind from the registry inputs.', ...notes];
    const order = [...tables.keys()].sort((a, b) => Number(b === 'docker.io') - Number(a === 'docker.io'));
    for (const host of order) {
        const t = tables.get(host);
        const name = `registry.${tomlString(host)}`;
        out.push('', `[${name}]`);
        if (t.mirrors)
            out.push(`  mirrors = ${tomlArray(t.mirrors)}`);
        if (t.http)
            out.push('  http = true');
        if (t.insecure)
            out.push('  insecure = true');
        if (t.ca.length)
            out.push(`  ca = ${tomlArray(t.ca)}`);
        for (const kp of t.keypairs)
            out.push('', `  [[${name}.keypair]]`, `    key = ${tomlString(kp.key)}`, `    cert = ${tomlString(kp.cert)}`);
    }
    return `${out.join('\n')}\n`;
}

;// CONCATENATED MODULE: ./src/registry/certs.ts
// Loads and checks the certificates of registry-certs: CA files and bundles, certs.d-style directories and
// inline PEM. Everything is checked before anything is written, and every problem is reported together.




/** Certificate files are small; anything bigger is not what the user meant. */
const MAX_CERT_FILE_BYTES = 1024 * 1024;
/** At most this many *.crt / *.cert / *.key files are read from one directory. */
const MAX_DIR_FILES = 100;
const INPUT = 'input "registry-certs"';
const KEY_LABELS = ['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY'];
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
// Blocks re-wrapped at 64 columns, so that PEM pasted on one line or with odd spacing still loads.
function parsePem(text) {
    const blocks = [];
    const mismatched = [];
    for (const m of text.matchAll(PEM_BLOCK)) {
        const [raw, label, inner, endLabel] = m;
        if (label !== endLabel) {
            mismatched.push(`-----BEGIN ${label}----- ends with -----END ${endLabel}-----`);
            continue;
        }
        const headers = /^[\w-]+:/m.test(inner.trim()); // RFC 1421 headers: an old-style encrypted key
        const body = headers ? inner.trim().split(/\r?\n\s*\r?\n/).slice(1).join('') : inner;
        const b64 = body.replace(/\s+/g, '');
        const base64ok = /^[A-Za-z0-9+/]+={0,2}$/.test(b64);
        const wrapped = b64.match(/.{1,64}/g)?.join('\n') ?? '';
        blocks.push({ label, raw, headers, base64ok, pem: `-----BEGIN ${label}-----\n${wrapped}\n-----END ${label}-----\n` });
    }
    const begins = text.match(/-----BEGIN /g)?.length ?? 0;
    return { blocks, unmatched: begins - blocks.length - mismatched.length, mismatched };
}
const iso = (d) => (Number.isNaN(d.getTime()) ? 'an unreadable date' : d.toISOString());
/** The subject's CN, or the whole subject on one line, for messages. */
function subjectOf(cert) {
    const lines = cert.subject.split('\n').filter(Boolean);
    const cn = lines.filter((l) => l.startsWith('CN='));
    const shown = (cn.length ? cn : lines).join(', ') || 'no subject';
    return shown.length > 80 ? `${shown.slice(0, 80)}…` : shown;
}
const spki = (k) => k.export({ type: 'spki', format: 'der' });
const keyMatches = (key, cert) => spki((0,external_node_crypto_.createPublicKey)(key)).equals(spki(cert.publicKey));
const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
async function loadRegistryTrust(requests, opts) {
    const baseDir = (0,external_node_path_.resolve)(opts.baseDir);
    const now = opts.now ?? new Date();
    const out = { trust: [], problems: [], secrets: [], missing: [] };
    for (const request of requests) {
        const loader = new TrustLoader(request.host, baseDir, now, out);
        await loader.load(request.source);
        out.problems.push(...loader.problems);
        out.secrets.push(...loader.secrets.filter((s) => !out.secrets.includes(s)));
    }
    return out;
}
/**
 * Loads the certificates of one registry: its trust and missing paths go straight to `out`; its problems and the
 * private keys to mask are its own until the registry is done (a registry with any problem adds no trust).
 */
class TrustLoader {
    host;
    baseDir;
    now;
    out;
    problems = [];
    secrets = [];
    constructor(host, baseDir, now, out) {
        this.host = host;
        this.baseDir = baseDir;
        this.now = now;
        this.out = out;
    }
    fail(what) {
        this.problems.push(`${INPUT}: ${what}`);
    }
    /** A path in messages as the user wrote it: relative to the workspace when inside it. */
    display(path) {
        const rel = (0,external_node_path_.relative)(this.baseDir, path);
        return rel && !rel.startsWith(`..${external_node_path_.sep}`) && rel !== '..' && !(0,external_node_path_.isAbsolute)(rel) ? rel : path;
    }
    shown(path) {
        return showValue(this.display(path));
    }
    async load(source) {
        if (source.kind === 'inline')
            this.loadInline(source.pem);
        else
            await this.loadPath(source);
    }
    /** Parses PEM text; `where` names it in messages ('"certs/ca.pem"' or 'the inline PEM'). */
    parse(text, where, allowKeys) {
        const { host } = this;
        const before = this.problems.length;
        const { blocks, unmatched, mismatched } = parsePem(text);
        for (const m of mismatched)
            this.fail(`${where} for ${host} has a PEM block whose ${m}; fix the block`);
        if (unmatched > 0)
            this.fail(`${where} for ${host} has a -----BEGIN line without its -----END line; give the complete PEM`);
        if (blocks.length === 0 && !mismatched.length && !unmatched) {
            this.fail(`${where} for ${host} is not PEM (no -----BEGIN CERTIFICATE----- block); give the registry's CA certificate in PEM form`);
            return undefined;
        }
        const parsed = { certs: [], keys: [] };
        for (const block of blocks)
            this.takeBlock(block, where, allowKeys, parsed);
        for (const { x509 } of parsed.certs) {
            const from = new Date(x509.validFrom);
            const to = new Date(x509.validTo);
            const which = `the certificate for ${host} (${subjectOf(x509)}, in ${where})`;
            if (!(to.getTime() >= this.now.getTime()))
                this.fail(`${which} expired on ${iso(to)}; renew it`);
            else if (!(from.getTime() <= this.now.getTime()))
                this.fail(`${which} is not valid before ${iso(from)}; check the runner's clock or use a certificate that is valid now`);
        }
        return this.problems.length === before ? parsed : undefined;
    }
    /** One PEM block: a certificate or (where allowed) a private key goes into `parsed`; anything else is a problem. */
    takeBlock(block, where, allowKeys, parsed) {
        const { host } = this;
        const isKey = KEY_LABELS.includes(block.label);
        if (block.label === 'ENCRYPTED PRIVATE KEY' || (isKey && block.headers)) {
            this.secrets.push(block.raw);
            this.fail(`${where} for ${host} has an encrypted private key, which docker cannot use; decrypt it, e.g. openssl pkey -in client.key -out client.key`);
            return;
        }
        if (!block.base64ok) {
            if (isKey)
                this.secrets.push(block.raw);
            this.fail(`${where} for ${host} has a ${block.label} block that is not valid base64; give the PEM exactly as exported`);
            return;
        }
        if (block.label === 'CERTIFICATE') {
            try {
                parsed.certs.push({ pem: block.pem, x509: new external_node_crypto_.X509Certificate(block.pem) });
            }
            catch {
                this.fail(`${where} for ${host} has a CERTIFICATE block that is not a valid X.509 certificate; give the certificate exactly as exported`);
            }
        }
        else if (isKey) {
            this.secrets.push(block.raw);
            if (block.pem.trimEnd() !== block.raw)
                this.secrets.push(block.pem.trimEnd()); // as written to disk
            if (!allowKeys) {
                this.fail(`${where} for ${host} contains a private key, but a CA file holds only certificates; remove the key (for mutual TLS use a directory with client.cert and client.key)`);
                return;
            }
            try {
                parsed.keys.push({ pem: block.pem, raw: block.raw, key: (0,external_node_crypto_.createPrivateKey)(block.pem) });
            }
            catch {
                this.fail(`${where} for ${host} has a ${block.label} block that is not a valid private key; give the key exactly as exported`);
            }
        }
        else if (block.label !== 'EC PARAMETERS') {
            this.fail(`${where} for ${host} has a ${block.label} block, which is not a certificate; give CERTIFICATE blocks${allowKeys ? ' (and the client certificate\'s private key)' : ''}`);
        }
    }
    /** Reads a file that should hold PEM; undefined when missing (recorded) or unreadable (reported). */
    async readPem(path, where) {
        const { host } = this;
        try {
            const info = await (0,promises_namespaceObject.stat)(path);
            if (!info.isFile()) {
                this.fail(`${where} for ${host} is not a regular file; give a PEM file or a directory`);
                return undefined;
            }
            if (info.size > MAX_CERT_FILE_BYTES) {
                this.fail(`${where} for ${host} is ${info.size} bytes, more than ${MAX_CERT_FILE_BYTES}, which is too big for a certificate file; give the CA certificate itself`);
                return undefined;
            }
            const data = await (0,promises_namespaceObject.readFile)(path);
            if (data.length === 0 || data.toString('utf8').trim() === '') {
                this.fail(`${where} for ${host} is empty; give the registry's CA certificate in PEM form`);
                return undefined;
            }
            const text = data.toString('utf8');
            if (!text.includes('-----BEGIN') && isDer(data)) {
                this.fail(`${where} for ${host} is a DER certificate, not PEM; convert it: openssl x509 -inform der -in ${this.display(path)} -out ca.pem`);
                return undefined;
            }
            return text;
        }
        catch (e) {
            const code = e.code;
            if (code === 'ENOENT' || code === 'ENOTDIR')
                this.out.missing.push(path);
            else
                this.fail(`${where} for ${host} cannot be read (${code ?? e.message}); make it readable by the job's user`);
            return undefined;
        }
    }
    /** Inline PEM: CA certificates, and optionally one private key with the client certificate it belongs to. */
    loadInline(pem) {
        const { host } = this;
        const where = 'the inline PEM';
        const parsed = this.parse(pem, where, true);
        if (!parsed)
            return;
        if (parsed.keys.length > 1) {
            this.fail(`${where} for ${host} has ${parsed.keys.length} private keys; give one client certificate with its one key`);
            return;
        }
        if (parsed.certs.length === 0) {
            this.fail(`${where} for ${host} has no certificate; give the registry's CA certificate${parsed.keys.length ? ' and the certificate of the private key' : ''}`);
            return;
        }
        const key = parsed.keys[0];
        let client;
        let cas = parsed.certs;
        if (key) {
            const own = parsed.certs.find((c) => keyMatches(key.key, c.x509));
            if (!own)
                this.fail(`${where} for ${host} has a private key but no certificate that matches it; add the client certificate that belongs to the key`);
            else {
                client = { certPem: own.pem, keyPem: key.pem };
                cas = parsed.certs.filter((c) => c !== own);
            }
        }
        if (!this.problems.length) {
            const parts = [cas.length ? plural(cas.length, 'certificate') : '', client ? `client certificate ${subjectOf(new external_node_crypto_.X509Certificate(client.certPem))}` : ''];
            this.out.trust.push({ host, caPems: cas.map((c) => c.pem), client, describe: `inline PEM (${parts.filter(Boolean).join('; ')})` });
        }
    }
    /** A file of CA certificates, or a certs.d-style directory. */
    async loadPath(source) {
        const { host, baseDir } = this;
        const path = (0,external_node_path_.resolve)(baseDir, source.path);
        const rel = (0,external_node_path_.relative)(baseDir, path);
        if (!(0,external_node_path_.isAbsolute)(source.path) && (rel === '..' || rel.startsWith(`..${external_node_path_.sep}`))) {
            this.fail(`${showValue(source.path)} for ${host} is a relative path that leaves the workspace (${baseDir}); keep certificates inside the workspace or give an absolute path`);
            return;
        }
        let kind;
        try {
            kind = (await (0,promises_namespaceObject.stat)(path)).isDirectory() ? 'dir' : 'file';
        }
        catch (e) {
            const code = e.code;
            if (code === 'ENOENT' || code === 'ENOTDIR')
                this.out.missing.push(path);
            else
                this.fail(`${this.shown(path)} for ${host} cannot be read (${code ?? e.message}); make it readable by the job's user`);
            return;
        }
        if (kind === 'dir') {
            await this.loadDir(path);
        }
        else if (source.kind === 'dir') {
            this.fail(`${this.shown(path)} for ${host} is a file, but the path ends with /, which means a directory; remove the trailing /`);
        }
        else {
            const where = this.shown(path);
            const text = await this.readPem(path, where);
            const parsed = text === undefined ? undefined : this.parse(text, where, false);
            if (parsed && !this.problems.length) {
                this.out.trust.push({ host, caPems: parsed.certs.map((c) => c.pem), describe: `file ${this.display(path)} (${plural(parsed.certs.length, 'certificate')})` });
            }
        }
    }
    /** docker's certs.d rules: *.crt are CA certificates; X.cert is a client certificate whose key is X.key. */
    async loadDir(dir) {
        const { host } = this;
        const where = this.shown(dir);
        let names;
        try {
            names = (await (0,promises_namespaceObject.readdir)(dir)).sort();
        }
        catch (e) {
            this.fail(`${where} for ${host} cannot be read (${e.code ?? e.message}); make it readable by the job's user`);
            return;
        }
        const crts = names.filter((n) => n.endsWith('.crt'));
        const certFiles = names.filter((n) => n.endsWith('.cert'));
        const keyFiles = names.filter((n) => n.endsWith('.key'));
        if (crts.length + certFiles.length + keyFiles.length > MAX_DIR_FILES) {
            this.fail(`${where} for ${host} has more than ${MAX_DIR_FILES} certificate and key files; keep only the ones for this registry`);
            return;
        }
        const missingBefore = this.out.missing.length;
        const cas = [];
        for (const name of crts) {
            const file = (0,external_node_path_.join)(dir, name);
            const text = await this.readPem(file, this.shown(file));
            const parsed = text === undefined ? undefined : this.parse(text, this.shown(file), false);
            if (parsed)
                cas.push(...parsed.certs.map((c) => c.pem));
        }
        const pairs = this.clientPairs(dir, certFiles, keyFiles);
        if (crts.length === 0 && certFiles.length === 0 && keyFiles.length === 0) {
            this.fail(`${where} for ${host} has no *.crt file and no client.cert/client.key pair; put the registry's CA certificate in ca.crt`);
        }
        const pair = pairs.length === 1 ? pairs[0] : undefined;
        const client = pair ? await this.loadClientPair(dir, pair) : undefined;
        if (!this.problems.length && this.out.missing.length === missingBefore && (cas.length || client)) {
            const parts = [cas.length ? plural(cas.length, 'certificate') : '', client ? `client certificate ${pair.cert}` : ''];
            this.out.trust.push({ host, caPems: cas, client, describe: `directory ${this.display(dir)} (${parts.filter(Boolean).join('; ')})` });
        }
    }
    /** X.cert and X.key files that belong together; a half of a pair, or more than one pair, is a problem. */
    clientPairs(dir, certFiles, keyFiles) {
        const { host } = this;
        const pairs = [];
        for (const name of certFiles) {
            const keyName = `${name.slice(0, -'.cert'.length)}.key`;
            if (keyFiles.includes(keyName))
                pairs.push({ cert: name, key: keyName });
            else
                this.fail(`${this.shown((0,external_node_path_.join)(dir, name))} for ${host} has no ${keyName} next to it; docker pairs X.cert with X.key, so add the key or remove the certificate`);
        }
        for (const name of keyFiles) {
            const certName = `${name.slice(0, -'.key'.length)}.cert`;
            if (!certFiles.includes(certName))
                this.fail(`${this.shown((0,external_node_path_.join)(dir, name))} for ${host} has no ${certName} next to it; docker pairs X.cert with X.key, so add the certificate or remove the key`);
        }
        if (pairs.length > 1) {
            this.fail(`${this.shown(dir)} for ${host} has ${pairs.length} client certificates (${pairs.map((p) => p.cert).join(', ')}); keep one pair`);
        }
        return pairs;
    }
    /** The client certificate and its key, when both load and the key belongs to the (first) certificate. */
    async loadClientPair(dir, pair) {
        const { host } = this;
        const certFile = (0,external_node_path_.join)(dir, pair.cert);
        const keyFile = (0,external_node_path_.join)(dir, pair.key);
        const certText = await this.readPem(certFile, this.shown(certFile));
        const keyText = await this.readPem(keyFile, this.shown(keyFile));
        const certs = certText === undefined ? undefined : this.parse(certText, this.shown(certFile), false);
        const keys = keyText === undefined ? undefined : this.parse(keyText, this.shown(keyFile), true);
        if (keys && (keys.keys.length !== 1 || keys.certs.length)) {
            this.fail(`${this.shown(keyFile)} for ${host} should hold exactly one private key and nothing else; give only the client key`);
            return undefined;
        }
        if (!certs || !keys)
            return undefined;
        const leaf = certs.certs[0]; // Go's tls.LoadX509KeyPair: the key belongs to the first certificate
        if (!keyMatches(keys.keys[0].key, leaf.x509)) {
            this.fail(`${this.shown(keyFile)} for ${host} does not match the certificate in ${this.shown(certFile)} (${subjectOf(leaf.x509)}); give the key that belongs to that certificate`);
            return undefined;
        }
        return { certPem: certs.certs.map((c) => c.pem).join(''), keyPem: keys.keys[0].pem };
    }
}
/** Whether bytes without a PEM marker are a DER certificate (a common mistake worth its own message). */
function isDer(data) {
    try {
        new external_node_crypto_.X509Certificate(data);
        return true;
    }
    catch {
        return false;
    }
}
/**
 * The certs.d layout dockerd reads (/etc/docker/certs.d/<host>/): ca.crt with every CA certificate, and
 * client.cert / client.key for mutual TLS. Paths are relative to the certs.d directory.
 */
function certsDirFiles(trust) {
    const files = [];
    for (const t of trust) {
        // The host names a directory: it must never climb out of certs.d.
        if (!t.host || t.host === '.' || t.host === '..' || /[/\\\0]/.test(t.host))
            throw new Error(`registry host ${JSON.stringify(t.host)} cannot name a certs.d directory`);
        const pem = (p) => (p.endsWith('\n') ? p : `${p}\n`);
        if (t.caPems.length)
            files.push({ path: `${t.host}/ca.crt`, content: t.caPems.map(pem).join(''), mode: 0o644 });
        if (t.client) {
            files.push({ path: `${t.host}/client.cert`, content: pem(t.client.certPem), mode: 0o644 });
            files.push({ path: `${t.host}/client.key`, content: pem(t.client.keyPem), mode: 0o600 });
        }
    }
    return files;
}

;// CONCATENATED MODULE: ./src/daemon-args.ts
// Input daemon-args, read the way dockerd reads its command line (spf13/pflag): long flags as --flag=value or
// --flag value, short flags as -H value, -Hvalue or -H=value, several short flags joined (-DH tcp://…), bool flags
// that take no value. Every flag the action sets itself is found in each of those forms and rejected, naming the
// flag, what the user wrote and the input meant for it.

/**
 * dockerd's flags (Linux, 20.10 to 29), hidden and deprecated ones included. A flag missing here is handled the
 * cautious way: it may be a bool flag, so a following argument that starts with "-" is read as a flag.
 */
const FLAGS = {
    'add-runtime': {}, 'allow-direct-routing': { bool: true }, 'allow-nondistributable-artifacts': {}, 'api-cors-header': {},
    'authorization-plugin': {}, bip: {}, bip6: {}, bridge: { short: 'b' }, 'bridge-accept-fwmark': {}, 'cdi-spec-dir': {},
    'cgroup-parent': {}, 'cluster-advertise': {}, 'cluster-store': {}, 'cluster-store-opt': {}, 'config-file': {},
    containerd: {}, 'containerd-namespace': {}, 'containerd-plugins-namespace': {}, 'cpu-rt-period': {}, 'cpu-rt-runtime': {},
    'cri-containerd': { bool: true }, 'data-root': {}, debug: { short: 'D', bool: true }, 'default-address-pool': {},
    'default-cgroupns-mode': {}, 'default-gateway': {}, 'default-gateway-v6': {}, 'default-ipc-mode': {},
    'default-network-opt': {}, 'default-runtime': {}, 'default-shm-size': {}, 'default-ulimit': {},
    'disable-legacy-registry': { bool: true }, dns: {}, 'dns-opt': {}, 'dns-search': {}, 'exec-opt': {}, 'exec-root': {},
    experimental: { bool: true }, feature: {}, 'firewall-backend': {}, 'fixed-cidr': {}, 'fixed-cidr-v6': {},
    graph: { short: 'g' }, group: { short: 'G' }, help: { short: 'h', bool: true }, host: { short: 'H' },
    'host-gateway-ip': {}, 'http-proxy': {}, 'https-proxy': {}, icc: { bool: true }, init: { bool: true }, 'init-path': {},
    'insecure-registry': {}, ip: {}, 'ip-forward': { bool: true }, 'ip-forward-no-drop': { bool: true },
    'ip-masq': { bool: true }, ip6tables: { bool: true }, iptables: { bool: true }, ipv6: { bool: true }, label: {},
    'live-restore': { bool: true }, 'log-driver': {}, 'log-format': {}, 'log-level': { short: 'l' }, 'log-opt': {},
    'max-concurrent-downloads': {}, 'max-concurrent-uploads': {}, 'max-download-attempts': {}, 'metrics-addr': {}, mtu: {},
    'network-control-plane-mtu': {}, 'network-diagnostic-port': {}, 'no-new-privileges': { bool: true }, 'no-proxy': {},
    'node-generic-resource': {}, 'oom-score-adjust': {}, pidfile: { short: 'p' }, 'raw-logs': { bool: true },
    'registry-mirror': {}, restart: { bool: true }, rootless: { bool: true }, 'seccomp-profile': {},
    'selinux-enabled': { bool: true }, 'shutdown-timeout': {}, 'storage-driver': { short: 's' }, 'storage-opt': {},
    'swarm-default-advertise-addr': {}, tls: { bool: true }, tlscacert: {}, tlscert: {}, tlskey: {}, tlsverify: { bool: true },
    'userland-proxy': { bool: true }, 'userland-proxy-path': {}, 'userns-remap': {}, validate: { bool: true },
    version: { short: 'v', bool: true },
};
const SHORT = Object.fromEntries(Object.entries(FLAGS).filter(([, s]) => s.short).map(([name, s]) => [s.short, name]));
const USE_TCP = 'use input "tcp: true" for a TLS listener with per-job certificates (output cert-path)';
/** Flags the action sets itself (or that stop dockerd from serving), and what to use instead. */
const RESERVED_DAEMON_FLAGS = {
    host: `the action's socket is per job; ${USE_TCP}, or mode socket/external with input "docker-host" for another daemon`,
    group: "the socket already belongs to the runner user's group; remove it",
    'data-root': 'the data root is a per-job volume that post removes; use input "cache: data-root" to keep it between jobs',
    graph: 'the data root is a per-job volume that post removes; use input "cache: data-root" to keep it between jobs',
    'exec-root': 'the action needs dockerd\'s runtime files where it put them; remove it',
    pidfile: 'the action needs dockerd\'s runtime files where it put them; remove it',
    tls: USE_TCP,
    tlsverify: USE_TCP,
    tlscacert: USE_TCP,
    tlscert: USE_TCP,
    tlskey: USE_TCP,
    'config-file': 'the action passes its own daemon.json; use input "daemon-config" for daemon.json settings',
    help: 'it makes dockerd print its usage and exit instead of serving; remove it',
    version: 'it makes dockerd print its version and exit instead of serving; remove it',
    validate: 'it makes dockerd check its configuration and exit instead of serving; remove it',
};
const describe = (name) => `--${name}${FLAGS[name]?.short ? ` (-${FLAGS[name].short})` : ''}`;
/** Reads argv the way pflag does; reserved flags, arguments that are not flags and bad syntax become problems. */
function parseDaemonArgs(args) {
    const flags = [];
    const problems = [];
    const problem = (text) => problems.push(`input "daemon-args": ${text}`);
    // An unknown flag may be a bool flag or take a value: a plain word after it is allowed as its value.
    let valueMayFollow = false;
    for (let i = 0; i < args.length; i++) {
        const arg = args[i];
        const next = args[i + 1];
        const mayFollow = valueMayFollow;
        valueMayFollow = false;
        if (arg === '--') {
            problem(`${showValue(arg)} ends dockerd's flags, and dockerd takes no other arguments; remove it`);
            continue;
        }
        if (arg.length < 2 || !arg.startsWith('-')) {
            if (!mayFollow)
                problem(`${showValue(arg)} is not a dockerd flag, and dockerd takes no other arguments; write flags such as --mtu=1400 or --mtu 1400`);
            continue;
        }
        if (arg.startsWith('--')) {
            const body = arg.slice(2);
            if (body.startsWith('-') || body.startsWith('=')) {
                problem(`${showValue(arg)} is not flag syntax dockerd accepts; write --name=value`);
                continue;
            }
            const eq = body.indexOf('=');
            const name = eq === -1 ? body : body.slice(0, eq);
            const spec = FLAGS[name];
            if (eq !== -1)
                flags.push({ name, known: Boolean(spec), value: body.slice(eq + 1), written: arg });
            else if (spec?.bool)
                flags.push({ name, known: true, written: arg });
            else if (spec) {
                // A value flag takes the next argument whatever it looks like (`--label -H` is the label "-H").
                flags.push({ name, known: true, value: next, written: next === undefined ? arg : `${arg} ${next}` });
                if (next === undefined)
                    problem(`${showValue(arg)} needs a value; write ${arg}=VALUE`);
                i++;
            }
            else {
                flags.push({ name, known: false, written: arg });
                valueMayFollow = true;
            }
            continue;
        }
        // One or more short flags: -D, -Hvalue, -H value, -H=value, -DHvalue, -DH value.
        let rest = arg.slice(1);
        while (rest.length) {
            const letter = rest[0];
            const name = SHORT[letter];
            const spec = name ? FLAGS[name] : undefined;
            if (rest[1] === '=') {
                flags.push({ name: name ?? letter, known: Boolean(spec), value: rest.slice(2), written: arg });
                break;
            }
            if (!spec) {
                // dockerd refuses an unknown letter; read the letters after it as flags, the cautious way.
                flags.push({ name: letter, known: false, written: arg });
                rest = rest.slice(1);
                if (!rest.length)
                    valueMayFollow = true;
                continue;
            }
            if (spec.bool) {
                flags.push({ name: name, known: true, written: arg });
                rest = rest.slice(1);
                continue;
            }
            if (rest.length > 1) {
                flags.push({ name: name, known: true, value: rest.slice(1), written: arg });
            }
            else {
                flags.push({ name: name, known: true, value: next, written: next === undefined ? arg : `${arg} ${next}` });
                if (next === undefined)
                    problem(`${showValue(arg)} needs a value; write -${letter} VALUE`);
                i++;
            }
            break;
        }
    }
    for (const flag of flags) {
        const remedy = flag.known && RESERVED_DAEMON_FLAGS[flag.name];
        if (remedy)
            problem(`${showValue(flag.written)} sets ${describe(flag.name)}, which is set by the action itself; ${remedy}`);
    }
    return { flags, problems };
}

;// CONCATENATED MODULE: ./src/network/cidr.ts
// Addresses and CIDR ranges, IPv4 and IPv6, as big integers: one set of rules for every input that takes a range
// (default-address-pools and bip in network/settings.ts, insecure-registries in registry/settings.ts). IPv6 is read
// as Go's net package reads it, which is what dockerd does: `::` compression, an embedded IPv4 tail
// (::ffff:10.0.0.1), and no zone (fe80::1%eth0 is not an address here).

const bits = (family) => (family === 4 ? 32 : 128);
/** An IPv4 or IPv6 address as a number; undefined when it is not one (or carries a zone). */
function ipToBigInt(ip) {
    const family = (0,external_node_net_.isIP)(ip);
    if (family === 4)
        return { family: 4, value: ip.split('.').reduce((n, part) => (n << 8n) | BigInt(Number(part)), 0n) };
    if (family !== 6 || ip.includes('%'))
        return undefined;
    let s = ip;
    const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s); // ::ffff:1.2.3.4 -> two hex groups
    if (v4) {
        const n = ipToBigInt(v4[1]).value;
        s = `${s.slice(0, v4.index)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
    }
    const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
    const left = head ? head.split(':') : [];
    const right = tail ? tail.split(':') : [];
    const groups = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
    return { family: 6, value: groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n) };
}
/** The shortest form: IPv4 dotted, IPv6 with the longest run of two or more zero groups as "::". */
function bigIntToIp(family, value) {
    if (family === 4)
        return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 255n)).join('.');
    const groups = Array.from({ length: 8 }, (_, i) => ((value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
    let best = { at: -1, length: 1 };
    for (let i = 0; i < 8; i++) {
        let j = i;
        while (j < 8 && groups[j] === '0')
            j++;
        if (j - i > best.length)
            best = { at: i, length: j - i };
    }
    if (best.at < 0)
        return groups.join(':');
    return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.length).join(':')}`;
}
/** "10.0.0.0/16" or "fd00::/64"; undefined when it is not an address with a prefix length. */
function parseCidr(text) {
    const m = /^([^/]+)\/(\d{1,3})$/.exec(text);
    if (!m)
        return undefined;
    const ip = ipToBigInt(m[1]);
    const prefix = Number(m[2]);
    if (!ip || prefix > bits(ip.family))
        return undefined;
    return { family: ip.family, address: ip.value, prefix };
}
const hostMask = (c) => (1n << BigInt(bits(c.family) - c.prefix)) - 1n;
const formatCidr = (c) => `${bigIntToIp(c.family, c.address & ~hostMask(c))}/${c.prefix}`;
/** Whether two ranges share an address. */
const overlaps = (a, b) => {
    if (a.family !== b.family)
        return false;
    const shift = BigInt(bits(a.family) - Math.min(a.prefix, b.prefix));
    return a.address >> shift === b.address >> shift;
};
/** Whether an address (IPv6 possibly in brackets) lies in the range. */
function inCidr(address, c) {
    const ip = ipToBigInt(address.replace(/^\[|\]$/g, ''));
    if (!ip || ip.family !== c.family)
        return false;
    const shift = BigInt(bits(c.family) - c.prefix);
    return ip.value >> shift === c.address >> shift;
}

;// CONCATENATED MODULE: ./src/registry/settings.ts
// Registry inputs: pull-through mirrors, insecure registries, per-registry certificates and extra daemon.json
// settings. This module checks syntax only and never touches the file system: certificate files are read by
// certs.ts, where they may not exist yet (in the pre phase the workspace is not checked out).




const MAX_ENTRIES = 100;
const MAX_LINE_CHARS = 64 * 1024;
const MAX_INPUT_CHARS = 1024 * 1024;
const HOST_EXAMPLE = 'like registry.example.com:5000';
const CONTROL = /[\u0000-\u001f\u007f]/;
const settings_DNS_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const settings_isDnsName = (name) => {
    const labels = name.split('.');
    // No all-numeric last label: '256.1.1.1' or '10.0.0' is a broken IP address, not a name.
    return name.length <= 253 && labels.every((l) => settings_DNS_LABEL.test(l)) && !/^\d+$/.test(labels.at(-1));
};
/**
 * Checks a registry host written as host[:port] (a DNS name, an IPv4 address or an [IPv6] address; port 1-65535).
 * Returns the normalized host, or what is wrong and what to do as one phrase ("has a path; give …").
 */
function parseHostPort(value) {
    const v = value.trim().toLowerCase();
    if (v === '')
        return `is empty; give a registry host, ${HOST_EXAMPLE}`;
    if (CONTROL.test(v))
        return 'contains a control character; remove it';
    if (/\s/.test(v))
        return `contains whitespace; give only host[:port], ${HOST_EXAMPLE}`;
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//.exec(v);
    if (scheme)
        return `has a scheme (${scheme[1]}://); remove it and give only host[:port], ${HOST_EXAMPLE}`;
    if (v.includes('@'))
        return 'contains user info (@); remove it (credentials belong in docker login, not here)';
    if (v.includes('/'))
        return `has a path; give only host[:port], ${HOST_EXAMPLE}`;
    if (/[?#]/.test(v))
        return `has a query or fragment; give only host[:port], ${HOST_EXAMPLE}`;
    if (/[^\x20-\x7e]/.test(v))
        return 'contains non-ASCII characters; write an international name in its punycode (xn--) form';
    let hostname;
    let portText;
    if (v.startsWith('[')) {
        const m = /^\[([^\]]*)\](?::(.*))?$/.exec(v);
        if (!m)
            return 'is not a valid [IPv6]:port address; write it like [fd00::1]:5000';
        if (m[1].includes('%') || (0,external_node_net_.isIP)(m[1]) !== 6)
            return `has ${showValue(m[1])} in brackets, which is not an IPv6 address; write it like [fd00::1]:5000`;
        hostname = `[${m[1]}]`;
        portText = m[2];
    }
    else {
        const parts = v.split(':');
        if (parts.length > 2)
            return 'looks like an IPv6 address without brackets; write it like [fd00::1]:5000';
        hostname = parts[0];
        portText = parts[1];
        if (hostname === '')
            return `has no host name; ${HOST_EXAMPLE}`;
        if ((0,external_node_net_.isIP)(hostname) !== 4 && !settings_isDnsName(hostname)) {
            return `is not a valid host name or IP address (letters, digits, - and . only); ${HOST_EXAMPLE}`;
        }
    }
    if (portText === undefined)
        return { host: hostname, hostname };
    const port = Number(portText);
    if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65535)
        return `has an invalid port ${showValue(portText)}; use a port between 1 and 65535, ${HOST_EXAMPLE}`;
    return { host: `${hostname}:${port}`, hostname, port };
}
// ---------------------------------------------------------------------------
// CIDR entries of insecure-registries (dockerd matches IP-literal registries against them).
function parseInsecureCidr(value) {
    const [addr = '', prefixText = '', ...rest] = value.split('/');
    const ip = ipToBigInt(addr);
    if (rest.length || !ip) {
        return 'is not a valid CIDR; write a network like 10.0.0.0/8 or fd00::/64, or a host[:port] without a path';
    }
    const max = bits(ip.family);
    const prefix = Number(prefixText);
    if (!/^\d{1,3}$/.test(prefixText) || prefix > max)
        return `has an invalid prefix length ${showValue(prefixText)}; use 0 to ${max} for an IPv${ip.family} network`;
    return { family: ip.family, address: ip.value, prefix };
}
/** The raw registry inputs, read with the limits every one of them has; problems of reading go to `problems`. */
class RegistryText {
    raw;
    problems = [];
    constructor(raw) {
        this.raw = raw;
    }
    // registry-certs may hold private keys: messages show it without PEM bodies or other long base64 runs.
    shown(name, value) {
        return showValue(name === 'registry-certs' ? redactPem(value) : value);
    }
    /** The raw text of an input, or undefined when it is too broken to read further (the problem is reported). */
    text(name) {
        const value = this.raw[name] ?? '';
        if (typeof value !== 'string') {
            this.problems.push(`input "${name}": is not text; give it as a string`);
            return undefined;
        }
        if (value.includes('\0')) {
            this.problems.push(`input "${name}": ${this.shown(name, value)} contains a NUL character; remove it`);
            return undefined;
        }
        if (value.length > MAX_INPUT_CHARS) {
            this.problems.push(`input "${name}": ${this.shown(name, value)} is longer than the limit of ${MAX_INPUT_CHARS} characters; give only registry settings here`);
            return undefined;
        }
        return value;
    }
    /** Lines without blank ones and # comments, each at most MAX_LINE_CHARS long. */
    linesOf(name, value) {
        const lines = [];
        const all = value.split(/\r\n|\n|\r/);
        for (let i = 0; i < all.length; i++) {
            const line = all[i];
            if (line.length > MAX_LINE_CHARS) {
                this.problems.push(`input "${name}": ${this.shown(name, line)} (line ${i + 1}) is longer than the limit of ${MAX_LINE_CHARS} characters; put one entry per line`);
                return undefined;
            }
            const trimmed = line.trim();
            if (trimmed && !trimmed.startsWith('#'))
                lines.push({ text: trimmed, number: i + 1 });
        }
        return lines;
    }
    tooMany(name, value, count) {
        const has = count === undefined ? `more than ${MAX_ENTRIES} entries` : `${count} entries, more than the limit of ${MAX_ENTRIES}`;
        this.problems.push(`input "${name}": ${this.shown(name, value)} has ${has}; list fewer registries`);
    }
    /** Entries separated by newlines or commas. */
    listEntries(name) {
        const value = this.text(name);
        if (value === undefined)
            return [];
        const lines = this.linesOf(name, value);
        if (!lines)
            return [];
        const entries = lines.flatMap((l) => l.text.split(',')).map((e) => e.trim()).filter(Boolean);
        if (entries.length > MAX_ENTRIES) {
            this.tooMany(name, value, entries.length);
            return [];
        }
        return entries;
    }
}
function parseRegistrySettings(raw, opts) {
    const input = new RegistryText(raw);
    // insecure-registries first: the mirrors are checked against it.
    const insecure = parseInsecure(input.listEntries('insecure-registries'));
    const mirrors = parseMirrors(input.listEntries('registry-mirrors'), insecure);
    const certs = parseRegistryCerts(input, (0,external_node_path_.resolve)(opts.baseDir));
    const config = parseDaemonConfig(input.text('daemon-config')?.trim() ?? '');
    const problems = [...input.problems, ...mirrors.problems, ...insecure.problems, ...certs.problems, ...config.problems];
    return { settings: { mirrors: mirrors.mirrors, insecure: insecure.insecure, certs: certs.certs, daemonConfig: config.daemonConfig }, problems };
}
function parseInsecure(entries) {
    const out = { insecure: [], hosts: new Set(), cidrs: [], problems: [] };
    for (const entry of entries) {
        const bad = (what) => out.problems.push(`input "insecure-registries": ${showValue(entry)} ${what}`);
        let normalized;
        if (entry.includes('/') && !entry.includes('://')) {
            const cidr = parseInsecureCidr(entry);
            if (typeof cidr === 'string') {
                bad(cidr);
                continue;
            }
            out.cidrs.push(cidr);
            normalized = entry.toLowerCase();
        }
        else {
            const hp = parseHostPort(entry);
            if (typeof hp === 'string') {
                bad(hp);
                continue;
            }
            out.hosts.add(hp.host);
            normalized = hp.host;
        }
        if (out.insecure.includes(normalized)) {
            bad(`is listed twice${normalized !== entry ? ` (as ${showValue(normalized)})` : ''}; remove the duplicate`);
            continue;
        }
        out.insecure.push(normalized);
    }
    return out;
}
function parseMirrors(entries, insecure) {
    const mirrors = [];
    const problems = [];
    for (const entry of entries) {
        const result = parseMirror(entry, insecure);
        let what = 'problem' in result ? result.problem : undefined;
        if ('mirror' in result) {
            if (!mirrors.includes(result.mirror))
                mirrors.push(result.mirror);
            else
                what = `is listed twice${result.mirror !== entry ? ` (as ${showValue(result.mirror)})` : ''}; remove the duplicate`;
        }
        if (what)
            problems.push(`input "registry-mirrors": ${showValue(entry)} ${what}`);
    }
    return { mirrors, problems };
}
/** One mirror URL, normalized, or what is wrong with it (a phrase that follows the shown value). */
function parseMirror(entry, insecure) {
    const problem = (what) => ({ problem: what });
    if (CONTROL.test(entry))
        return problem('contains a control character; remove it');
    if (/\s/.test(entry))
        return problem('contains whitespace; separate mirrors with commas or newlines');
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(entry);
    if (!scheme)
        return problem(`has no scheme; write the mirror as a URL, like https://${entry.replace(/^\/+/, '')}`);
    if (!/^https?$/i.test(scheme[1]))
        return problem(`uses the scheme ${scheme[1]}://; registry mirrors are https:// URLs, like https://mirror.example.com`);
    let url;
    try {
        url = new URL(entry);
    }
    catch {
        return problem('is not a valid URL; write it like https://mirror.example.com');
    }
    if (url.username || url.password || entry.slice(scheme[0].length).split('/')[0].includes('@')) {
        return problem('contains user info; remove it (credentials belong in docker login, not in the mirror URL)');
    }
    if (entry.includes('?') || entry.includes('#'))
        return problem('has a query or fragment; give only the mirror\'s base URL, like https://mirror.example.com');
    const hp = parseHostPort(url.host);
    if (typeof hp === 'string')
        return problem(`has a host that ${hp}`);
    if (url.protocol === 'http:') {
        // URL drops a default port: http://m:80 has host m, and insecure-registries may list either form.
        const forms = [hp.host, `${hp.hostname}:${hp.port ?? 80}`];
        if (!forms.some((f) => insecure.hosts.has(f)) && !insecure.cidrs.some((c) => inCidr(hp.hostname, c))) {
            return problem(`is plain HTTP, but ${hp.host} is not in insecure-registries; use https:// or add ${hp.host} to insecure-registries`);
        }
    }
    return { mirror: `${url.protocol}//${hp.host}${url.pathname.replace(/\/+$/, '')}` };
}
function parseDaemonConfig(configText) {
    const daemonConfig = {};
    const problems = [];
    if (!configText)
        return { daemonConfig, problems };
    const bad = (what) => problems.push(`input "daemon-config": ${showValue(configText)} ${what}`);
    let value;
    try {
        value = JSON.parse(configText);
    }
    catch (e) {
        const reason = String(e?.message ?? e).split('\n')[0].slice(0, 160);
        bad(`is not valid JSON (${reason}); give a JSON object, like {"debug": true}`);
        return { daemonConfig, problems };
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
        bad(`is ${kind}, not a JSON object; write the settings inside { }, like {"debug": true}`);
    }
    else if (Object.hasOwn(value, '__proto__')) {
        bad('has a "__proto__" key, which is not a daemon setting; remove it');
    }
    else {
        for (const [key, v] of Object.entries(value))
            daemonConfig[key] = v;
    }
    return { daemonConfig, problems };
}
/** Text with every PEM body (and any other long base64 run) replaced by …, for messages. */
function redactPem(text) {
    return text
        .replace(/(-----BEGIN [A-Z0-9 ]+-----)[\s\S]*?(?:-----END [A-Z0-9 ]+-----|$)/g, '$1…')
        .replace(/[A-Za-z0-9+/]{40,}={0,2}/g, '…');
}
const isEmptyRegistrySettings = (s) => s.mirrors.length === 0 && s.insecure.length === 0 && s.certs.length === 0 && Object.keys(s.daemonConfig).length === 0;
// ---------------------------------------------------------------------------
// registry-certs: HOST[:PORT]=SOURCE lines; an inline PEM continues over the following lines.
const BEGIN = /^-----BEGIN [A-Z0-9 ]+-----/;
const MARKER = /-----(BEGIN|END) [A-Z0-9 ]+-----/g;
const BASE64_LINE = /^[A-Za-z0-9+/]+=*$/;
// A line that starts a new HOST=SOURCE entry rather than continuing base64 (whose '=' only pads the end).
const looksLikeEntry = (line) => /^[^=\s]+=\s*\S/.test(line) && !BASE64_LINE.test(line);
/** Consumes the PEM that starts at lines[i] (its first line is `first`): returns the PEM and the next index. */
function collectPem(lines, i, first) {
    const pemLines = [];
    let open = 0;
    let j = i;
    let line = first;
    for (;;) {
        for (const m of line.matchAll(MARKER))
            open += m[1] === 'BEGIN' ? 1 : -1;
        pemLines.push(line);
        j++;
        const next = lines[j];
        if (open <= 0) {
            // The PEM goes on only if another block follows (a certificate and its key, a chain).
            if (next && BEGIN.test(next.text)) {
                line = next.text;
                continue;
            }
            return { pem: `${pemLines.join('\n')}\n`, next: j };
        }
        if (!next || looksLikeEntry(next.text))
            return { next: j };
        line = next.text;
    }
}
function parseRegistryCerts(input, baseDir) {
    const certs = [];
    const problems = [];
    const value = input.text('registry-certs');
    const lines = value === undefined ? undefined : input.linesOf('registry-certs', value);
    if (value === undefined || !lines)
        return { certs, problems };
    const seen = new Map(); // host -> line
    let entries = 0;
    for (let i = 0; i < lines.length;) {
        const { text: line, number } = lines[i];
        if (++entries > MAX_ENTRIES) {
            input.tooMany('registry-certs', value);
            return { certs: [], problems: [] }; // rejected as a whole: the problems of single lines would only bury that
        }
        if (BEGIN.test(line)) {
            // PEM text without HOST= in front: skip the whole block rather than complaining about every base64 line.
            i = collectPem(lines, i, line).next;
            problems.push(`input "registry-certs": the PEM block at line ${number} has no registry in front; write it as HOST[:PORT]=-----BEGIN …, like registry.example.com:5000=-----BEGIN CERTIFICATE-----`);
            continue;
        }
        const entry = parseCertEntry(lines, i, baseDir);
        const bad = (what) => problems.push(`input "registry-certs": ${showValue(entry.shown)} (line ${number}) ${what}`);
        for (const what of entry.problems)
            bad(what);
        if (entry.request) {
            const first = seen.get(entry.request.host);
            if (first !== undefined)
                bad(`names ${entry.request.host} again (first on line ${first}); give one source per registry (a directory can hold several certificates)`);
            else {
                seen.set(entry.request.host, number);
                certs.push(entry.request);
            }
        }
        i = entry.next;
    }
    return { certs, problems };
}
/** The HOST[:PORT]=SOURCE entry at lines[i]: the request or its problems, how to show it, and the next line's index. */
function parseCertEntry(lines, i, baseDir) {
    const line = lines[i].text;
    const eq = line.indexOf('=');
    if (eq < 0)
        return { problems: ['is not HOST[:PORT]=SOURCE; write one registry per line, like registry.example.com:5000=certs/ca.pem'], shown: line, next: i + 1 };
    const hostText = line.slice(0, eq).trim();
    const sourceText = line.slice(eq + 1).trim();
    let next = i + 1;
    let source;
    if (BEGIN.test(sourceText)) {
        const collected = collectPem(lines, i, sourceText);
        next = collected.next;
        source = collected.pem === undefined ? 'has an inline PEM without its -----END line; paste the whole PEM, from -----BEGIN to -----END' : { kind: 'inline', pem: collected.pem };
    }
    else {
        source = certPath(sourceText, baseDir);
    }
    // Never show an inline PEM in a message: it may hold a private key.
    const shown = BEGIN.test(sourceText) ? `${hostText}=-----BEGIN …` : line;
    const hp = parseHostPort(hostText);
    const problems = [];
    if (typeof hp === 'string')
        problems.push(`has a registry host that ${hp}`);
    if (typeof source === 'string')
        problems.push(source);
    const request = typeof hp !== 'string' && typeof source !== 'string' ? { host: hp.host, source } : undefined;
    return { request, problems, shown, next };
}
/** A file or certs.d-style directory source (a trailing / means a directory), or what is wrong with the path. */
function certPath(sourceText, baseDir) {
    if (sourceText === '')
        return 'has nothing after =; give a PEM file, a certs.d-style directory or the PEM text itself';
    if (CONTROL.test(sourceText))
        return 'has a control character in the path; remove it';
    if (sourceText.startsWith('~'))
        return 'has a path starting with ~, which is not expanded; use an absolute path or one relative to the workspace';
    if (sourceText.startsWith('-----'))
        return 'has a PEM marker that is not -----BEGIN …-----; paste the whole PEM, starting with its -----BEGIN line';
    const path = (0,external_node_path_.resolve)(baseDir, sourceText);
    const rel = (0,external_node_path_.relative)(baseDir, path);
    if (!(0,external_node_path_.isAbsolute)(sourceText) && (rel === '..' || rel.startsWith(`..${external_node_path_.sep}`) || (0,external_node_path_.isAbsolute)(rel))) {
        return `has a relative path that leaves the workspace (${baseDir}); keep certificates inside the workspace or give an absolute path`;
    }
    return { kind: /[/\\]$/.test(sourceText) ? 'dir' : 'file', path };
}

;// CONCATENATED MODULE: ./src/registry/daemon-json.ts
// The daemon.json of the job's dockerd: what the registry inputs generate, merged with input daemon-config.
// A setting is given in one place only: dockerd itself refuses to start when a directive is set both as a
// flag and in daemon.json, and a silent override would hide a mistake.



/** daemon.json keys the action sets itself through dockerd flags. */
const ACTION_OWNED_KEYS = (/* unused pure expression or super */ null && (['hosts', 'group', 'tls', 'tlsverify', 'tlscacert', 'tlscert', 'tlskey', 'data-root', 'exec-root', 'pidfile']));
// Why each action-owned key cannot be set: the input that controls it, or that the action manages it per job.
const OWNER = {
    hosts: 'is set by the action (input "tcp" controls the TCP listener, the unix socket is per job)',
    group: 'is set by the action (the socket\'s group is chosen for the job)',
    tls: 'is set by the action (input "tcp" turns on TLS with per-job certificates)',
    tlsverify: 'is set by the action (input "tcp" turns on TLS with per-job certificates)',
    tlscacert: 'is set by the action (input "tcp" turns on TLS with per-job certificates)',
    tlscert: 'is set by the action (input "tcp" turns on TLS with per-job certificates)',
    tlskey: 'is set by the action (input "tcp" turns on TLS with per-job certificates)',
    'data-root': 'is set by the action (each job\'s daemon has its own data root)',
    'exec-root': 'is set by the action (each job\'s daemon has its own exec root)',
    pidfile: 'is set by the action (each job\'s daemon has its own pid file)',
};
// Sets a key as an own property, even one spelled "__proto__".
const put = (obj, key, value) => Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
function buildDaemonJson(settings) {
    const problems = [];
    const config = {};
    const generatedBy = new Map(); // key -> input that generated it
    if (settings.mirrors.length) {
        put(config, 'registry-mirrors', [...settings.mirrors]);
        generatedBy.set('registry-mirrors', 'registry-mirrors');
    }
    if (settings.insecure.length) {
        put(config, 'insecure-registries', [...settings.insecure]);
        generatedBy.set('insecure-registries', 'insecure-registries');
    }
    for (const [key, value] of Object.entries(settings.daemonConfig)) {
        const input = generatedBy.get(key);
        if (Object.hasOwn(OWNER, key)) {
            problems.push(`input "daemon-config": "${key}" ${OWNER[key]}; remove it from daemon-config`);
        }
        else if (input !== undefined) {
            problems.push(`input "daemon-config": "${key}" is also set by input "${input}"; set it in one place`);
        }
        else {
            put(config, key, value);
        }
    }
    return { config, problems };
}
// dockerd flags (long names: the parser reads -D as --debug) whose daemon.json key is not the flag's own name.
const FLAG_KEYS = {
    '--registry-mirror': 'registry-mirrors',
    '--insecure-registry': 'insecure-registries',
    '--storage-opt': 'storage-opts',
    '--authorization-plugin': 'authorization-plugins',
    '--exec-opt': 'exec-opts',
    '--feature': 'features',
    '--default-network-opt': 'default-network-opts',
    '--dns-opt': 'dns-opts',
    '--host-gateway-ip': 'host-gateway-ips',
    '--label': 'labels',
    '--log-opt': 'log-opts',
    '--node-generic-resource': 'node-generic-resources',
    '--cdi-spec-dir': 'cdi-spec-dirs',
    '--default-address-pool': 'default-address-pools',
    '--default-ulimit': 'default-ulimits',
    '--add-runtime': 'runtimes',
    '--host': 'hosts',
    '--graph': 'data-root',
};
/**
 * Directives set both in daemon.json and as a dockerd flag in input daemon-args: dockerd refuses to start then
 * ("the following directives are specified both as a flag and in the configuration file").
 */
function daemonArgsConflicts(settings, config, daemonArgs) {
    const problems = [];
    const seen = new Set();
    // Read as dockerd reads them (-Dl debug, --mtu 1400, -l=warn): a short or joined flag is the long one it stands for.
    for (const flag of parseDaemonArgs(daemonArgs).flags) {
        if (!flag.known)
            continue;
        const key = Object.hasOwn(FLAG_KEYS, `--${flag.name}`) ? FLAG_KEYS[`--${flag.name}`] : flag.name;
        if (!Object.hasOwn(config, key) || seen.has(key))
            continue;
        seen.add(key);
        const from = key === 'registry-mirrors' && settings.mirrors.length ? 'input "registry-mirrors"'
            : key === 'insecure-registries' && settings.insecure.length ? 'input "insecure-registries"' : 'input "daemon-config"';
        problems.push(`input "daemon-args": ${showValue(flag.written)} sets "${key}", which ${from} sets too, and dockerd refuses a setting given twice; set it in one place`);
    }
    return problems;
}
/**
 * What the registry settings mean for the mode (their syntax is already checked): daemon.json conflicts, flags of
 * daemon-args that set the same directive (dind), and settings a socket or external daemon cannot take.
 */
function registryModeProblems(settings, use) {
    const { config, problems } = buildDaemonJson(settings);
    if (use.mode === 'dind')
        problems.push(...daemonArgsConflicts(settings, config, use.daemonArgs));
    const daemonWide = ['registry-mirrors', 'insecure-registries', 'daemon-config'].filter((name) => name === 'registry-mirrors' ? settings.mirrors.length : name === 'insecure-registries' ? settings.insecure.length : Object.keys(settings.daemonConfig).length);
    if (use.mode === 'socket' && !use.configureHost) {
        for (const name of daemonWide) {
            problems.push(`input "${name}": in mode socket this changes the runner's own daemon (its daemon.json, then a reload); set configure-host: true to allow that, or use mode dind`);
        }
    }
    if (use.mode === 'external' && !isEmptyRegistrySettings(settings)) {
        for (const name of daemonWide) {
            problems.push(`input "${name}": mode external uses a daemon the action does not manage, so its daemon.json cannot be changed; configure it where that daemon starts (for a service: its command, e.g. --registry-mirror=URL)`);
        }
    }
    return problems;
}

// EXTERNAL MODULE: external "node:util"
var external_node_util_ = __nccwpck_require__(7975);
;// CONCATENATED MODULE: ./src/registry/host.ts
// socket mode: the runner's own daemon reads /etc/docker/certs.d at every pull and /etc/docker/daemon.json when it
// reloads. The action changes them only as asked, records exactly what was there before, and post puts it back.
// Writes go directly when we are root, else through non-interactive sudo; never through a shell.






const run = (0,external_node_util_.promisify)(external_node_child_process_namespaceObject.execFile);
/** Defaults of a standard Linux install; SETUP_DIND_HOST_* variables override them for unusual runners. */
function hostPaths(env) {
    return {
        certsDir: env.SETUP_DIND_HOST_CERTS_DIR || '/etc/docker/certs.d',
        daemonJson: env.SETUP_DIND_HOST_DAEMON_JSON || '/etc/docker/daemon.json',
        pidFile: env.SETUP_DIND_HOST_DOCKERD_PIDFILE || '/var/run/docker.pid',
    };
}
/** File operations as root, or through `sudo -n` for a non-root runner user. */
class PrivilegedFiles {
    isRoot;
    constructor(isRoot = process.getuid?.() === 0) {
        this.isRoot = isRoot;
    }
    async sudo(args, what) {
        try {
            await run('sudo', ['-n', ...args]);
        }
        catch (e) {
            const err = e;
            throw new Error(`${what} needs root: the action runs as a non-root user and \`sudo -n ${args[0]}\` failed (${(err.stderr || err.message).trim()}). Run the job as root, allow passwordless sudo, or use mode dind`);
        }
    }
    async write(path, content, mode) {
        if (this.isRoot) {
            await (0,promises_namespaceObject.mkdir)((0,external_node_path_.dirname)(path), { recursive: true, mode: 0o755 });
            await writeFileNoWindow(path, content, mode);
            return;
        }
        // sudo tee would need a pipe; install copies a file we wrote privately first.
        const staging = (0,external_node_path_.join)(process.env.RUNNER_TEMP || '/tmp', `setup-dind-staging-${process.pid}-${Date.now()}`);
        await (0,promises_namespaceObject.writeFile)(staging, content, { mode: 0o600, flag: 'wx' });
        try {
            await this.sudo(['install', '-D', '-m', mode.toString(8), staging, path], `writing ${path}`);
        }
        finally {
            await (0,promises_namespaceObject.rm)(staging, { force: true });
        }
    }
    async mkdir(path) {
        if (this.isRoot)
            await (0,promises_namespaceObject.mkdir)(path, { recursive: true, mode: 0o755 });
        else
            await this.sudo(['install', '-d', '-m', '755', path], `creating ${path}`);
    }
    async remove(path) {
        if (this.isRoot)
            await (0,promises_namespaceObject.rm)(path, { recursive: true, force: true });
        else
            await this.sudo(['rm', '-rf', '--', path], `removing ${path}`);
    }
    async signal(pid, signal) {
        if (this.isRoot)
            process.kill(pid, `SIG${signal}`);
        else
            await this.sudo(['kill', `-${signal}`, String(pid)], `reloading dockerd (pid ${pid})`);
    }
}
/** Copies a host directory's files into `backupDir` (0700; each file 0600 from its creation on). */
async function snapshotDir(dir, backupDir) {
    try {
        if (!(await (0,promises_namespaceObject.lstat)(dir)).isDirectory())
            throw new Error(`${dir} exists but is not a directory`);
    }
    catch (e) {
        if (e.code === 'ENOENT')
            return null;
        throw e;
    }
    const files = [];
    const names = (await (0,promises_namespaceObject.readdir)(dir)).sort();
    if (names.length)
        await (0,promises_namespaceObject.mkdir)(backupDir, { recursive: true, mode: 0o700 });
    for (const [i, name] of names.entries()) {
        const path = (0,external_node_path_.join)(dir, name);
        const info = await (0,promises_namespaceObject.lstat)(path);
        if (!info.isFile())
            throw new Error(`${path} is not a plain file; the action will not replace it`);
        const backup = (0,external_node_path_.join)(backupDir, String(i));
        await (0,promises_namespaceObject.writeFile)(backup, await (0,promises_namespaceObject.readFile)(path), { mode: 0o600, flag: 'wx' });
        files.push({ name, backup, mode: info.mode & 0o777 });
    }
    return files;
}
/**
 * Writes `files` (paths relative to certs.d, like "registry.example.com:5000/ca.crt"), recording each host
 * directory's previous content first (into private files under `backupDir`). `record` is called after every change
 * so state always covers it.
 */
async function installHostCerts(files, paths, io, record, backupDir) {
    const certDirs = [];
    const hosts = [...new Set(files.map((f) => f.path.split('/')[0]))];
    for (const [i, host] of hosts.entries()) {
        const dir = (0,external_node_path_.join)(paths.certsDir, host);
        certDirs.push({ dir, before: await snapshotDir(dir, (0,external_node_path_.join)(backupDir, String(i))) });
        record(certDirs);
        for (const file of files.filter((f) => f.path.startsWith(`${host}/`))) {
            await io.write((0,external_node_path_.join)(paths.certsDir, file.path), file.content, file.mode);
        }
    }
}
/** Puts every recorded certs.d directory back exactly as it was. */
async function restoreHostCerts(changes, io) {
    for (const { dir, before } of changes) {
        await io.remove(dir);
        if (before === null)
            continue;
        await io.mkdir(dir);
        for (const file of before)
            await io.write((0,external_node_path_.join)(dir, file.name), await (0,promises_namespaceObject.readFile)(file.backup), file.mode);
    }
}
function readDaemonPid(pidFile) {
    let text;
    try {
        text = (0,external_node_fs_.readFileSync)(pidFile, 'utf8');
    }
    catch (e) {
        throw new Error(`cannot read dockerd's pid file ${pidFile} (${e.message}); set SETUP_DIND_HOST_DOCKERD_PIDFILE to the runner daemon's pid file`);
    }
    const pid = Number(text.trim());
    if (!Number.isInteger(pid) || pid <= 1)
        throw new Error(`dockerd's pid file ${pidFile} holds ${JSON.stringify(text.trim())}, not a pid`);
    return pid;
}
/**
 * Merges `settings` into the host's daemon.json and reloads dockerd (SIGHUP: registry-mirrors and
 * insecure-registries are reloadable). A key already set to another value in the host file is an error: the runner's
 * administrator chose it, and the action does not overrule it silently.
 */
async function configureHostDaemon(settings, paths, io, record, backupDir) {
    let before = null;
    try {
        before = await (0,promises_namespaceObject.readFile)(paths.daemonJson, 'utf8');
    }
    catch (e) {
        if (e.code !== 'ENOENT')
            throw new Error(`cannot read ${paths.daemonJson}: ${e.message}`);
    }
    let current = {};
    if (before !== null && before.trim()) {
        try {
            current = JSON.parse(before);
        }
        catch (e) {
            throw new Error(`${paths.daemonJson} is not valid JSON (${e.message}); fix it before using configure-host`);
        }
    }
    const merged = { ...current };
    for (const [key, value] of Object.entries(settings)) {
        const existing = current[key];
        if (Array.isArray(existing) && Array.isArray(value))
            merged[key] = [...new Set([...existing, ...value])];
        else if (existing !== undefined && JSON.stringify(existing) !== JSON.stringify(value)) {
            throw new Error(`${paths.daemonJson} already sets "${key}" to ${JSON.stringify(existing)}; the action will not change it to ${JSON.stringify(value)}`);
        }
        else
            merged[key] = value;
    }
    const pid = readDaemonPid(paths.pidFile);
    let backup = null;
    if (before !== null) {
        await (0,promises_namespaceObject.mkdir)(backupDir, { recursive: true, mode: 0o700 });
        backup = (0,external_node_path_.join)(backupDir, 'daemon.json');
        await writeFileNoWindow(backup, before, 0o600);
    }
    record({ path: paths.daemonJson, backup, pidFile: paths.pidFile, keys: Object.keys(settings) });
    await io.write(paths.daemonJson, `${JSON.stringify(merged, null, 2)}\n`, 0o644);
    await io.signal(pid, 'HUP');
}
/**
 * dockerd's reload applies only the keys present in daemon.json: writing back a file without "registry-mirrors"
 * would leave our mirrors live. So the daemon first reloads a file that states the original value of every key we
 * set (an empty list where there was none), `reloaded` waits until it reports them, and then the original bytes
 * go back (they mean the same to the daemon, so no further reload is needed).
 */
async function restoreHostDaemon(change, io, reloaded = async () => undefined) {
    // Read before anything changes: without its copy the file cannot be put back, and it is left as it is.
    const before = change.backup === null ? null : await (0,promises_namespaceObject.readFile)(change.backup, 'utf8');
    let original = {};
    try {
        original = before?.trim() ? JSON.parse(before) : {};
    }
    catch {
        // The file was valid when we changed it; if not, the plain restore below is all we can do.
    }
    const explicit = { ...original };
    for (const key of change.keys)
        if (!(key in original) && RESETTABLE.has(key))
            explicit[key] = [];
    const pid = readDaemonPid(change.pidFile);
    await io.write(change.path, `${JSON.stringify(explicit, null, 2)}\n`, 0o644);
    await io.signal(pid, 'HUP');
    await reloaded(explicit);
    if (before === null)
        await io.remove(change.path);
    else
        await io.write(change.path, before, 0o644);
}
/** daemon.json keys whose "unset" is an empty list, so they can be reset by a reload. */
const RESETTABLE = new Set(['registry-mirrors', 'insecure-registries']);

;// CONCATENATED MODULE: ./src/registry/apply.ts
// Registry settings through a job's phases. pre: check everything that can be checked (the workspace is not checked
// out yet) and give dind its daemon.json. main: load every certificate, install it where the mode's daemon reads it,
// write buildkitd.toml. post: undo what was changed on the runner's own daemon (socket mode).









/** The daemon.json for the job's dockerd, or undefined when there is nothing to set. */
function daemonConfigFor(inputs) {
    const { config } = buildDaemonJson(inputs.registry);
    return Object.keys(config).length ? config : undefined;
}
/** Certificate problems that can be found before checkout; sources that do not exist yet are checked in main. */
async function checkRegistryEarly(inputs, workspace) {
    if (!inputs.registry.certs.length)
        return [];
    return (await loadRegistryTrust(inputs.registry.certs, { baseDir: workspace })).problems;
}
async function writeFiles(dir, files) {
    for (const file of files) {
        const path = (0,external_node_path_.join)(dir, file.path);
        await (0,promises_namespaceObject.mkdir)((0,external_node_path_.dirname)(path), { recursive: true, mode: 0o755 });
        await writeFileNoWindow(path, file.content, file.mode);
    }
}
/**
 * main: loads every certificate (all problems at once), masks inline keys, installs the certificates where the
 * daemon reads them, and writes buildkitd.toml next to them.
 */
async function applyRegistry(inputs, platform, state, jobDir) {
    const settings = inputs.registry;
    if (isEmptyRegistrySettings(settings))
        return { outputs: { 'buildkitd-config': '' }, facts: {} };
    const log = platform.log;
    const loaded = await loadRegistryTrust(settings.certs, { baseDir: platform.job.workspace });
    for (const secret of loaded.secrets) {
        platform.mask(secret);
        for (const line of secret.split('\n'))
            if (line.trim() && !line.startsWith('-----'))
                platform.mask(line.trim());
    }
    // After checkout every source must exist; in pre, missing workspace files were only deferred.
    for (const path of loaded.missing)
        loaded.problems.push(`input "registry-certs": ${path} does not exist; check the path (relative paths start at the workspace)`);
    if (loaded.problems.length) {
        throw new Error(`registry-certs cannot be used:\n${loaded.problems.map((p) => `  - ${p}`).join('\n')}`);
    }
    const files = certsDirFiles(loaded.trust);
    const dir = await jobDir();
    // Our own copy in the job directory: dind mounts it as /etc/docker/certs.d, and buildkitd.toml points at it.
    const certsDir = (0,external_node_path_.join)(dir, 'certs.d');
    await writeFiles(certsDir, files);
    if (inputs.mode === 'socket' && files.length) {
        const paths = hostPaths(platform.env);
        const io = new PrivilegedFiles();
        const changes = { certDirs: [], ...state.value?.hostChanges };
        await installHostCerts(files, paths, io, (certDirs) => state.update({ hostChanges: { ...changes, certDirs } }), (0,external_node_path_.join)(dir, 'host-backup'));
        log.info(`Installed certificates for ${loaded.trust.map((t) => t.host).join(', ')} into ${paths.certsDir} (post restores what was there).`);
    }
    if (inputs.mode === 'socket' && inputs.configureHost) {
        const config = daemonConfigFor(inputs);
        if (config) {
            const paths = hostPaths(platform.env);
            await configureHostDaemon(config, paths, new PrivilegedFiles(), (daemonJson) => state.update({ hostChanges: { certDirs: [], ...state.value?.hostChanges, daemonJson } }), (0,external_node_path_.join)(dir, 'host-backup', 'daemon-json'));
            log.info(`Merged ${Object.keys(config).join(', ')} into ${paths.daemonJson} and reloaded dockerd (post restores the file).`);
        }
    }
    if (inputs.mode === 'external' && files.length) {
        log.warning(`registry-certs (${loaded.trust.map((t) => t.host).join(', ')}) cannot be installed into an external daemon the action does not manage; ` +
            'they are in the buildkitd-config output for BuildKit builders. Install them where that daemon runs (its /etc/docker/certs.d).');
    }
    const tomlPath = (0,external_node_path_.join)(dir, 'buildkitd.toml');
    const byHost = (host, name) => (files.some((f) => f.path === `${host}/${name}`) ? (0,external_node_path_.join)(certsDir, host, name) : undefined);
    const toml = buildkitdToml(settings, loaded.trust.map((t) => ({ host: t.host, ca: byHost(t.host, 'ca.crt'), cert: byHost(t.host, 'client.cert'), key: byHost(t.host, 'client.key') })));
    await (0,promises_namespaceObject.writeFile)(tomlPath, toml, { mode: 0o644 });
    const facts = {};
    if (settings.mirrors.length)
        facts['Registry mirrors'] = settings.mirrors.join(', ');
    if (settings.insecure.length)
        facts['Insecure registries'] = settings.insecure.join(', ');
    if (loaded.trust.length)
        facts['Registry certificates'] = loaded.trust.map((t) => `${t.host}${t.client ? ' (with client certificate)' : ''}`).join(', ');
    return { outputs: { 'buildkitd-config': tomlPath }, facts };
}
/** post: restores the runner daemon's certs.d directories and daemon.json exactly as they were. */
async function undoRegistry(changes, log, reloaded) {
    const done = [];
    if (!changes)
        return done;
    const io = new PrivilegedFiles();
    if (changes.certDirs.length) {
        try {
            await restoreHostCerts(changes.certDirs, io);
            done.push(`certificates in ${changes.certDirs.map((c) => c.dir).join(', ')}`);
        }
        catch (e) {
            log.warning(`Could not restore the runner's certs.d: ${e.message}`);
        }
    }
    if (changes.daemonJson) {
        try {
            await restoreHostDaemon(changes.daemonJson, io, reloaded);
            done.push(`${changes.daemonJson.path} (daemon reloaded)`);
        }
        catch (e) {
            log.warning(`Could not restore ${changes.daemonJson.path}: ${e.message}`);
        }
    }
    return done;
}
/** Waits (at most 5 s) until the runner's daemon reports the registry mirrors a reload was meant to set. */
function reloadedTo(daemon) {
    return async (expected) => {
        const want = (expected['registry-mirrors'] ?? []).map((m) => m.replace(/\/?$/, '/')).sort().join(',');
        const clock = realClock;
        const deadline = clock.now() + 5000;
        while (clock.now() < deadline) {
            const info = await daemon.info().catch(() => undefined);
            if (info && info.registryMirrors.map((m) => m.replace(/\/?$/, '/')).sort().join(',') === want)
                return;
            await clock.sleep(100);
        }
        throw new Error('the daemon did not report the restored registry mirrors within 5 s of the reload');
    };
}

;// CONCATENATED MODULE: ./src/network/settings.ts
// The job daemon's own address plan: default-address-pools (where `docker network create` takes subnets from) and
// bip (the default bridge's address), for networks that collide with Docker's 172.17.0.0/16 and friends. Parsed
// and checked here, written into the job daemon's daemon.json (dind only).


/**
 * The entries of the input: one pool per line (or `;`), each dockerd's flag syntax `base=CIDR,size=N` (either order;
 * commas or spaces between the two; a key given again starts the next pool).
 */
function poolEntries(text) {
    const entries = [];
    for (const line of text.split(/[\n;]/)) {
        let current = [];
        const parts = line.split(/[\s,]+/).filter(Boolean);
        // A line with neither key is not split: the problem shows it as written.
        if (!parts.some((p) => /^(base|size)=/i.test(p))) {
            if (line.trim())
                entries.push([line.trim()]);
            continue;
        }
        for (const part of parts) {
            const key = part.split('=')[0].toLowerCase();
            if (current.some((p) => p.split('=')[0].toLowerCase() === key)) {
                entries.push(current);
                current = [];
            }
            current.push(part);
        }
        if (current.length)
            entries.push(current);
    }
    return entries;
}
function parsePool(parts) {
    const entry = parts.join(',');
    const fields = new Map(parts.map((part) => {
        const [key, ...rest] = part.split('=');
        return [key.toLowerCase(), rest.join('=')];
    }));
    const base = fields.get('base');
    const sizeText = fields.get('size');
    const unknown = [...fields.keys()].filter((k) => k !== 'base' && k !== 'size');
    const example = 'use base=CIDR,size=N, like base=10.200.0.0/16,size=24';
    if (!base || !sizeText || unknown.length)
        return { problem: `${showValue(entry)} is not a pool; ${example}` };
    const cidr = parseCidr(base);
    if (!cidr)
        return { problem: `${showValue(base)} is not an address range in CIDR notation; ${example}` };
    if (cidr.address & hostMask(cidr))
        return { problem: `${showValue(base)} has host bits set; the range starts at ${formatCidr(cidr)}: use base=${formatCidr(cidr)}` };
    const size = Number(sizeText);
    const max = bits(cidr.family);
    if (!/^\d{1,3}$/.test(sizeText) || size < cidr.prefix || size > max) {
        return { problem: `size ${showValue(sizeText)} must be a prefix length from ${cidr.prefix} (the base's own) to ${max} for ${base}; like size=24` };
    }
    if (cidr.family === 4 && size > 30)
        return { problem: `size ${size} leaves no addresses for containers; use size=30 or less` };
    return { pool: { base, size, cidr } };
}
function parsePools(text, problems) {
    const pools = [];
    for (const entry of poolEntries(text)) {
        const { pool, problem } = parsePool(entry);
        if (problem)
            problems.push(`input "default-address-pools": ${problem}`);
        else {
            const clash = pools.find((p) => overlaps(p.cidr, pool.cidr));
            if (clash)
                problems.push(`input "default-address-pools": ${pool.base} overlaps ${clash.base}; give pools that do not overlap`);
            else
                pools.push(pool);
        }
    }
    return pools.map(({ base, size }) => ({ base, size }));
}
function parseBip(text, problems) {
    const cidr = parseCidr(text);
    const example = 'the bridge\'s own address with a prefix length, like 10.201.0.1/24';
    if (!cidr || cidr.family !== 4) {
        problems.push(`input "bip": ${showValue(text)} is not an IPv4 address with a prefix length; use ${example}`);
        return undefined;
    }
    const host = cidr.address & hostMask(cidr);
    if (cidr.prefix > 30)
        problems.push(`input "bip": ${showValue(text)} leaves no room for containers; use a prefix of /30 or shorter, like ${example}`);
    else if (host === 0n || host === hostMask(cidr)) {
        problems.push(`input "bip": ${showValue(text)} is the ${host === 0n ? 'network' : 'broadcast'} address of ${formatCidr(cidr)}, not an address the bridge can have; use ${example}`);
    }
    return text;
}
/** The two inputs as given: pools one per line (or `;`), each `base=CIDR,size=N`; bip as ADDRESS/PREFIX. */
function parseNetworkSettings(raw) {
    const problems = [];
    const pools = parsePools(raw['default-address-pools'], problems);
    const bipText = raw.bip.trim();
    const bip = bipText ? parseBip(bipText, problems) : undefined;
    return { settings: { pools, ...(bip ? { bip } : {}) }, problems };
}
/** The daemon.json keys these settings give (nothing when none is set). */
function networkDaemonJson(settings) {
    return {
        ...(settings.pools.length ? { 'default-address-pools': settings.pools.map((p) => ({ base: p.base, size: p.size })) } : {}),
        ...(settings.bip ? { bip: settings.bip } : {}),
    };
}
const settings_FLAGS = { '--default-address-pool': 'default-address-pools', '--bip': 'bip' };
/**
 * What the settings mean for the mode and the other inputs: they change only a daemon the action starts (dind),
 * and a key set here must not also come from daemon-config or a daemon-args flag (dockerd refuses duplicates).
 */
function networkProblems(settings, use) {
    const problems = [];
    const keys = Object.keys(networkDaemonJson(settings));
    const input = (key) => (key === 'bip' ? 'bip' : 'default-address-pools');
    if (use.mode !== 'dind') {
        for (const key of keys) {
            problems.push(`input "${input(key)}": applies only to mode dind (the daemon the action starts), but mode is ${use.mode}; set it in that daemon's daemon.json, or use mode dind`);
        }
        return problems;
    }
    for (const key of keys) {
        if (Object.hasOwn(use.daemonConfig, key))
            problems.push(`input "daemon-config": "${key}" is also set by input "${input(key)}"; set it in one place`);
    }
    for (const arg of use.daemonArgs) {
        const key = settings_FLAGS[arg.split('=')[0]];
        if (key && keys.includes(key))
            problems.push(`input "daemon-args": ${showValue(arg)} sets "${key}", which input "${input(key)}" sets too, and dockerd refuses a setting given twice; set it in one place`);
    }
    return problems;
}

;// CONCATENATED MODULE: ./src/like-runner/settings.ts
// dind mode made to behave like the runner's own engine: the inputs that control it (job paths, extra mounts,
// MTU, proxies, port forwarding), parsed and validated here so inputs.ts only wires them in.

/** Paths under which a job path is never mounted into the daemon's container: they are the container's own. */
const RESERVED_TARGETS = ['/proc', '/sys', '/dev', '/var/lib/docker', '/run/setup-dind', '/etc/docker', '/var/run/docker.sock', '/run/docker.sock'];
/** System directories that are never mounted as a whole (a job path equal to one of them). */
const SYSTEM_DIRS = ['/', '/bin', '/boot', '/etc', '/lib', '/lib32', '/lib64', '/libx32', '/run', '/sbin', '/usr', '/var', '/var/lib', '/var/run', '/root', '/home', '/opt', '/tmp', '/var/tmp', '/srv', '/mnt', '/media'];
/** Why a path cannot be mounted at the same path inside the daemon's container; undefined when it can. */
function unmountableReason(path) {
    const p = normalize(path);
    if (SYSTEM_DIRS.includes(p))
        return `${p} is a system directory of the daemon's container`;
    const reserved = RESERVED_TARGETS.find((r) => p === r || p.startsWith(`${r}/`));
    if (reserved)
        return `${p} is inside ${reserved}, which the daemon's container needs for itself`;
    return undefined;
}
/** An absolute path without a trailing slash, duplicate slashes or . segments; '..' is kept (the caller refuses it). */
function normalize(path) {
    const parts = path.split('/').filter((s) => s && s !== '.');
    return `/${parts.join('/')}`;
}
const INTEGRATION_DEFAULTS = {
    'job-paths': 'true',
    'mount-paths': '',
    mtu: '',
    proxy: 'true',
    'forward-ports': 'true',
};
const MIN_MTU = 576;
const MAX_MTU = 65535;
function parseFlag(value) {
    const v = value.trim().toLowerCase();
    if (['true', 'yes', '1', 'on'].includes(v))
        return true;
    if (['false', 'no', '0', 'off', ''].includes(v))
        return false;
    return undefined;
}
function parseIntegration(read, context) {
    const problems = [];
    const bool = (name) => {
        const text = read(name).trim();
        const value = parseFlag(text === '' ? INTEGRATION_DEFAULTS[name] : text);
        if (value === undefined) {
            problems.push(`input "${name}": ${showValue(text)} is not a boolean; use true or false`);
            return parseFlag(INTEGRATION_DEFAULTS[name]) ?? false;
        }
        return value;
    };
    const jobPaths = bool('job-paths');
    const proxy = bool('proxy');
    const forwardPorts = bool('forward-ports');
    const mountPaths = [];
    for (const line of read('mount-paths').split('\n').map((l) => l.trim()).filter(Boolean)) {
        if (!line.startsWith('/'))
            problems.push(`input "mount-paths": ${showValue(line)} is not an absolute path; give paths like /srv/fixtures, one per line`);
        else if (line.split('/').includes('..'))
            problems.push(`input "mount-paths": ${showValue(line)} contains "..", which would make the path inside differ from the path outside; give the real path`);
        else if (/[\0\r]/.test(line))
            problems.push(`input "mount-paths": ${showValue(line)} contains control characters; remove them`);
        else {
            const reason = unmountableReason(line);
            if (reason)
                problems.push(`input "mount-paths": ${showValue(line)} cannot be mounted: ${reason}; mount a directory below it instead`);
            else
                mountPaths.push(normalize(line));
        }
    }
    const mtuSetElsewhere = context.daemonArgs.some((a) => a === '--mtu' || a.startsWith('--mtu=') || a.startsWith('--default-network-opt')) ||
        'mtu' in context.daemonConfig || 'default-network-opts' in context.daemonConfig;
    const mtuText = read('mtu').trim();
    let mtu;
    if (mtuText) {
        const n = Number(mtuText);
        if (!/^\d+$/.test(mtuText) || n < MIN_MTU || n > MAX_MTU)
            problems.push(`input "mtu": ${showValue(mtuText)} is not an MTU; use a number of bytes between ${MIN_MTU} and ${MAX_MTU} (like 1400), or leave it empty to use the daemon container's own`);
        else if (mtuSetElsewhere)
            problems.push(`input "mtu": ${showValue(mtuText)} is also set through daemon-args or daemon-config (mtu, --mtu, default-network-opts); set it in one place`);
        else
            mtu = n;
    }
    if (context.mode !== 'dind') {
        const given = [['job-paths', jobPaths ? 'true' : 'false'], ['mount-paths', mountPaths.join(' ')], ['mtu', mtuText], ['proxy', proxy ? 'true' : 'false'], ['forward-ports', forwardPorts ? 'true' : 'false']];
        for (const [name, value] of given) {
            if (value !== INTEGRATION_DEFAULTS[name])
                problems.push(`input "${name}": ${showValue(value)} applies only to mode dind, but mode is ${context.mode}; remove it or use mode dind`);
        }
    }
    return { settings: { jobPaths, mountPaths, mtu, mtuSetElsewhere, proxy, forwardPorts }, problems };
}

;// CONCATENATED MODULE: ./src/like-runner/mounts.ts
// The job's paths inside the daemon's container at the same paths: a bind mount the job asks the inner daemon for
// (`-v "$GITHUB_WORKSPACE:/src"`, compose's `./data:/data`) is resolved in the daemon's container, so the same path
// must hold the same files there. In a container job the paths the job sees are translated to the engine host's.


/** The job's own paths on this CI system, in a fixed order. */
function jobPaths(job, env) {
    const found = [];
    const add = (path, source) => {
        if (path?.startsWith('/'))
            found.push({ path: normalize(path), source, explicit: false });
    };
    if (env.GITHUB_ACTIONS === 'true' || env.GITHUB_WORKSPACE) {
        add(env.GITHUB_WORKSPACE ?? job.workspace, 'GITHUB_WORKSPACE');
        add(env.RUNNER_TEMP ?? job.tempDir, 'RUNNER_TEMP');
        add(env.RUNNER_TOOL_CACHE, 'RUNNER_TOOL_CACHE');
    }
    if (env.GITLAB_CI === 'true' || env.CI_PROJECT_DIR) {
        add(env.CI_BUILDS_DIR, 'CI_BUILDS_DIR');
        add(env.CI_PROJECT_DIR ?? job.workspace, 'CI_PROJECT_DIR');
    }
    return found;
}
/** Drops duplicates and paths inside another one (the outer mount already carries them). */
function outermost(paths) {
    const kept = [];
    for (const p of [...paths].sort((a, b) => a.path.length - b.path.length)) {
        if (kept.some((k) => p.path === k.path || p.path.startsWith(`${k.path}/`)))
            continue;
        kept.push(p);
    }
    return paths.filter((p) => kept.includes(p));
}
/**
 * Bind mounts at identical paths for the job's paths (when asked) and the extra ones. A job path that cannot be
 * mounted (missing, a system directory, not on a mount of the job container) is skipped with a note; an explicit
 * one is an error that names the input.
 */
async function planJobMounts(options) {
    const exists = options.exists ?? (async (p) => (await (0,promises_namespaceObject.stat)(p).catch(() => undefined))?.isDirectory() ?? false);
    const skipped = [];
    const mounts = [];
    const problems = [];
    for (const p of outermost(options.paths)) {
        const skip = (why, remedy) => {
            if (p.explicit)
                problems.push(`input "mount-paths": ${p.path} ${why}; ${remedy}`);
            else
                skipped.push(`${p.path} (${p.source}): ${why}`);
        };
        const reason = unmountableReason(p.path);
        if (reason) {
            skip(`cannot be mounted: ${reason}`, 'mount a directory below it instead');
            continue;
        }
        if (!(await exists(p.path))) {
            skip('is not a directory that exists', 'create it before this step, or remove it');
            continue;
        }
        let source;
        try {
            source = options.translate(p.path);
        }
        catch {
            skip(`is not on a volume or bind mount of the job container ${options.translate.container?.name ?? ''}`.trimEnd(), 'use a path the job container mounts');
            continue;
        }
        mounts.push({ Type: 'bind', Source: source, Target: p.path });
    }
    if (problems.length)
        throw new Error(problems.join('\n'));
    return { mounts, skipped };
}

;// CONCATENATED MODULE: ./src/like-runner/network.ts
/**
 * Runs in the daemon's container just before dockerd (part of the init script; "$@" is the dockerd command).
 * SETUP_DIND_MTU is "auto" (the MTU of the interface that carries the default route) or a number. An MTU other
 * than dockerd's default 1500 goes to the default bridge (--mtu, every dockerd) and, for dockerd 24 and later, to
 * every network created later (--default-network-opt, e.g. compose's networks); older daemons only have the first,
 * and say so in the log.
 */
const MTU_SCRIPT = `if [ -n "\${SETUP_DIND_MTU:-}" ]; then
  mtu=$SETUP_DIND_MTU; dev=
  if [ "$mtu" = auto ]; then
    mtu=
    while read -r iface dest _; do if [ "$dest" = 00000000 ]; then dev=$iface; break; fi; done < /proc/net/route
    if [ -n "$dev" ] && [ -r "/sys/class/net/$dev/mtu" ]; then mtu=$(cat "/sys/class/net/$dev/mtu"); fi
  fi
  case "$mtu" in ''|*[!0-9]*) echo "setup-dind: no MTU found (no default route); dockerd keeps its default" >&2 ;;
  # dockerd's own default for the bridge and for every network created later: nothing to pass, nothing to look up
  # (the lookup below reads the whole dockerd binary when the image does not say its version).
  1500) ;;
  *)
    # --default-network-opt exists from dockerd 24 on: known from the official image's DOCKER_VERSION, else from the
    # flag's name in the binary. Never by running it: a wrapper script may not answer --version.
    netopt=
    if [ -n "\${DOCKER_VERSION:-}" ]; then
      if [ "\${DOCKER_VERSION%%.*}" -ge 24 ] 2>/dev/null; then netopt=1; fi
    elif bin=$(command -v "$1" 2>/dev/null) && grep -q default-network-opt "$bin" 2>/dev/null; then
      netopt=1
    fi
    set -- "$@" "--mtu=$mtu"
    if [ -n "$netopt" ]; then
      set -- "$@" "--default-network-opt=bridge=com.docker.network.driver.mtu=$mtu"
      echo "setup-dind: MTU $mtu\${dev:+ (from $dev)} for the default bridge and new networks" >&2
    else
      echo "setup-dind: MTU $mtu\${dev:+ (from $dev)} for the default bridge (this dockerd has no default-network-opt, which came with 24: networks created later keep 1500 unless given com.docker.network.driver.mtu)" >&2
    fi ;;
  esac
fi
`;
/** The container environment that drives MTU_SCRIPT; empty when the user sets the MTU in daemon-args/config. */
function mtuEnvironment(settings) {
    if (settings.mtuSetElsewhere)
        return [];
    return [`SETUP_DIND_MTU=${settings.mtu ?? 'auto'}`];
}
const PROXY_NAMES = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY'];
/** The job's proxy variables (either case; the upper-case one wins, as in Go and curl). */
function jobProxies(env) {
    const found = {};
    for (const name of PROXY_NAMES) {
        const value = env[name] || env[name.toLowerCase()];
        if (value)
            found[name] = value;
    }
    return found;
}
/** Hosts (with ports) of the mirrors: pulls through them stay direct, as the user gave their address. */
function mirrorHosts(mirrors) {
    return mirrors.flatMap((m) => {
        try {
            const u = new URL(m);
            return [u.hostname.replace(/^\[|\]$/g, '')];
        }
        catch {
            return [];
        }
    });
}
/** Always direct: the daemon's own host and containers, and the names the job uses for the daemon. */
const LOCAL_NO_PROXY = ['localhost', '127.0.0.0/8', '::1', 'docker'];
/**
 * Environment entries for the daemon's container: the job's proxies, with NO_PROXY extended by the mirrors, the
 * insecure registries (local registries, by their nature) and local addresses. Nothing when no proxy is set.
 */
function proxyEnvironment(env, registry, extraDirect = []) {
    const found = jobProxies(env);
    if (!found.HTTP_PROXY && !found.HTTPS_PROXY)
        return [];
    const given = (found.NO_PROXY ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const insecure = registry.insecure.map((h) => (h.includes('/') ? h : h.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')));
    const direct = [...new Set([...given, ...LOCAL_NO_PROXY, ...mirrorHosts(registry.mirrors), ...insecure, ...extraDirect])];
    const out = [];
    for (const name of ['HTTP_PROXY', 'HTTPS_PROXY']) {
        const value = found[name];
        if (value)
            out.push(`${name}=${value}`, `${name.toLowerCase()}=${value}`);
    }
    out.push(`NO_PROXY=${direct.join(',')}`, `no_proxy=${direct.join(',')}`);
    return out;
}

;// CONCATENATED MODULE: ./src/like-runner/extras.ts




/**
 * What the daemon's container gets so that it behaves like the runner's engine: the job's paths (and the job
 * directory, where DOCKER_HOST's socket is) at identical paths, the MTU setting and the job's proxies.
 */
async function dindExtras(o) {
    const { integration } = o.inputs;
    const paths = [
        ...(integration.jobPaths ? jobPaths(o.platform.job, o.platform.env) : []),
        ...integration.mountPaths.map((path) => ({ path, source: 'input mount-paths', explicit: true })),
    ];
    const plan = await planJobMounts({ paths, translate: o.translate });
    if (plan.skipped.length)
        o.platform.log.info(`setup-dind: not mounted into the daemon's container: ${plan.skipped.join('; ')}.`);
    // The socket at the path DOCKER_HOST names, for containers that mount it (unless a job path carries it already).
    const covered = plan.mounts.some((m) => o.jobDir === m.Target || o.jobDir.startsWith(`${m.Target}/`));
    const mounts = covered ? plan.mounts : [...plan.mounts, { Type: 'bind', Source: o.hostJobDir, Target: o.jobDir }];
    const claims = claimsEnvironment({ forwardPorts: integration.forwardPorts, rootless: o.inputs.dind.rootless, daemonArgs: o.inputs.dind.daemonArgs, daemonConfig: o.inputs.registry.daemonConfig });
    const env = [...mtuEnvironment(integration), ...(integration.proxy ? proxyEnvironment(o.platform.env, o.inputs.registry) : []), ...claims];
    const sysctls = o.state ? reserveJobPorts({ forwardPorts: integration.forwardPorts, rootless: o.inputs.dind.rootless, state: o.state, jobDir: o.jobDir, log: o.platform.log }) : undefined;
    return { mounts, env, ...(sysctls ? { sysctls } : {}) };
}

;// CONCATENATED MODULE: ./src/daemon/iptables.ts
// The iptables backend of the job's dockerd, chosen the way docker's own dockerd-entrypoint.sh chooses it (the
// official image's entrypoint, which our init replaces): DOCKER_IPTABLES_LEGACY when the image sets it; legacy when
// the network namespace already holds legacy tables (mixing both backends breaks forwarding); else the image's
// default (nft on current images), with nf_tables loaded, and legacy only when nft does not work at all.
// The official image keeps its legacy tools in /usr/local/sbin/.iptables-legacy; Debian- and Alpine-style images
// name them iptables-legacy and friends, which get the same kind of directory. A fragment of the init script
// (POSIX sh, runs under `set -e`).
/** Where the legacy tools are put first on PATH for images that have no such directory of their own. */
const LEGACY_DIR = '/run/setup-dind-iptables-legacy';
const IPTABLES_CHOICE = `sd_legacy_tools() {
  [ -d /usr/local/sbin/.iptables-legacy ] && { echo /usr/local/sbin/.iptables-legacy; return 0; }
  command -v iptables-legacy >/dev/null 2>&1 || return 1
  mkdir -p ${LEGACY_DIR}
  for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
    b=$(command -v "\${t%%tables*}tables-legacy\${t#*tables}" 2>/dev/null) && ln -sf "$b" "${LEGACY_DIR}/$t"
  done
  echo ${LEGACY_DIR}
}
sd_legacy=
sd_why=
if [ -n "\${DOCKER_IPTABLES_LEGACY+x}" ]; then
  sd_legacy=$DOCKER_IPTABLES_LEGACY; sd_why='DOCKER_IPTABLES_LEGACY is set'
  if [ -n "$sd_legacy" ]; then modprobe ip_tables 2>/dev/null || :; modprobe ip6_tables 2>/dev/null || :; else modprobe nf_tables 2>/dev/null || :; fi
elif (for f in /proc/net/ip_tables_names /proc/net/ip6_tables_names /proc/net/arp_tables_names; do
        if b=$(cat "$f" 2>/dev/null) && [ -n "$b" ]; then exit 0; fi
      done; exit 1); then
  sd_legacy=1; sd_why='legacy iptables tables are loaded'
elif ! iptables -nL >/dev/null 2>&1; then
  modprobe nf_tables 2>/dev/null || :
  if ! iptables -nL >/dev/null 2>&1; then
    modprobe ip_tables 2>/dev/null || :; modprobe ip6_tables 2>/dev/null || :
    if d=$(sd_legacy_tools) && "$d/iptables" -nL >/dev/null 2>&1; then sd_legacy=1; sd_why='the default iptables does not work, legacy does'; fi
  fi
fi
if [ -n "$sd_legacy" ]; then
  if d=$(sd_legacy_tools); then export PATH="$d:$PATH"; else echo "setup-dind: iptables-legacy is wanted ($sd_why), but this image has none; keeping its default iptables" >&2; fi
fi
# Said only where there is an iptables (an image without one says nothing here; its dockerd speaks for itself).
if command -v iptables >/dev/null 2>&1; then echo "setup-dind: $(iptables --version 2>&1)\${sd_why:+ ($sd_why)}" >&2; fi`;

;// CONCATENATED MODULE: ./src/daemon/api-version.ts
// Which clients the job's daemon accepts. Docker 29.0 to 29.2 refuse clients older than API 1.44 (Docker 25), and
// 29.3 and later those older than 1.40: a runner's or a job image's docker CLI from Debian 12 or Ubuntu 22.04
// (docker.io 20.10, API 1.41), an old docker-compose or a pinned DOCKER_API_VERSION would fail with "client version
// 1.41 is too old". The job's daemon is private to the job, so it accepts every API version the daemon still
// implements: DOCKER_MIN_API_VERSION in the dind container's environment, which dockerd reads since 25.0 (older
// daemons ignore it, and accept 1.12 and later anyway). A "min-api-version" in input daemon-config (Docker 29 and
// later know that key) wins over it, as dockerd lets daemon.json win over the variable.
/** The oldest API version Docker 25 to 29 can be told to serve (their MinAPIVersion). */
const MIN_API_VERSION = '1.24';
/** The dind container's environment for the API floor. */
const apiVersionEnvironment = () => [`DOCKER_MIN_API_VERSION=${MIN_API_VERSION}`];

;// CONCATENATED MODULE: ./src/cache/gnu-tar.ts
// The tar a data-root snapshot is made and unpacked with, whatever the dind image carries: the runner's own GNU tar
// and the shared libraries it links, copied into the per-job directory (which the daemon's container and the helpers
// mount anyway, for the FIFO) and run there through their own dynamic loader. So an image whose only tar is BusyBox's
// (the official docker:*-dind, Alpine) keeps overlay metadata too: whiteouts, opaque directories, every xattr.
// The image's own GNU tar is the fallback when the runner cannot provide one (no GNU tar, no ldd).




const gnu_tar_run = (0,external_node_util_.promisify)(external_node_child_process_namespaceObject.execFile);
/** The variable the snapshot scripts read: the command (words without spaces) that runs GNU tar in the container. */
const TAR_ENV = 'SETUP_DIND_TAR';
/** The bundle's directory in the job directory. */
const TAR_DIR = 'gnu-tar';
const defaultHost = () => ({
    path: [...(process.env.PATH ?? '').split(external_node_path_.delimiter).filter(Boolean), '/usr/bin', '/bin'],
    run: (tarHostProgram, args) => gnu_tar_run(tarHostProgram, [...args], { timeout: 10_000 }),
});
/** The first tar (or gtar) on PATH that is GNU tar with --xattrs; undefined when there is none. */
async function findGnuTar(host) {
    for (const dir of host.path) {
        for (const name of ['tar', 'gtar']) {
            const file = (0,external_node_path_.join)(dir, name);
            const version = await host.run(file, ['--version']).catch(() => undefined);
            if (!version?.stdout.includes('GNU tar'))
                continue;
            const help = await host.run(file, ['--help']).catch(() => undefined);
            if (help?.stdout.includes('--xattrs'))
                return (0,promises_namespaceObject.realpath)(file).catch(() => file);
        }
    }
    return undefined;
}
/** The shared libraries (soname → file) and the loader ldd names; undefined loader: a static binary. */
function parseLdd(text) {
    const libs = new Map();
    let loader;
    for (const line of text.split('\n')) {
        const linked = /^\s*(\S+)\s+=>\s+(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
        if (linked)
            libs.set(linked[1], linked[2]);
        else {
            const own = /^\s*(\/\S*ld[-.]\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
            if (own)
                loader = own[1];
        }
    }
    return { libs, loader };
}
/**
 * Copies the runner's GNU tar, its libraries and its loader into `<jobDir>/gnu-tar/` (once per job: a later call finds
 * it made) and checks that the copy runs as the containers will run it. Resolves to the command as a container
 * sees it (the job directory mounted at `mountedAt`), or to why the runner has none.
 */
async function runnerTar(jobDir, mountedAt, host = defaultHost()) {
    const dir = (0,external_node_path_.join)(jobDir, TAR_DIR);
    const ready = (0,external_node_path_.join)(dir, '.command');
    const made = await (0,promises_namespaceObject.readFile)(ready, 'utf8').catch(() => '');
    if (made)
        return { command: made.trim() };
    const tar = await findGnuTar(host);
    if (!tar)
        return { problem: 'the runner has no GNU tar with --xattrs on PATH' };
    let libs = new Map();
    let loader;
    try {
        ({ libs, loader } = parseLdd((await host.run('ldd', [tar])).stdout));
    }
    catch (e) {
        // A static tar: ldd says "not a dynamic executable" (exit 1); no ldd at all is another matter.
        const text = `${e.stdout ?? ''}${e.stderr ?? ''}`;
        if (!/not a dynamic executable|statically linked/.test(text))
            return { problem: `ldd could not list the libraries of ${tar} (${e.message.trim()})` };
    }
    if (libs.size > 0 && !loader)
        return { problem: `ldd named no dynamic loader for ${tar}` };
    try {
        await (0,promises_namespaceObject.rm)(dir, { recursive: true, force: true });
        await (0,promises_namespaceObject.mkdir)(dir, { mode: 0o755 });
        const copies = [[tar, 'tar'], ...[...libs].map(([soname, file]) => [file, soname])];
        if (loader)
            copies.push([loader, (0,external_node_path_.basename)(loader)]);
        for (const [from, name] of copies) {
            await (0,promises_namespaceObject.copyFile)(await (0,promises_namespaceObject.realpath)(from), (0,external_node_path_.join)(dir, name));
            await (0,promises_namespaceObject.chmod)((0,external_node_path_.join)(dir, name), 0o755);
        }
        const words = (at) => (loader ? [(0,external_node_path_.join)(at, (0,external_node_path_.basename)(loader)), '--library-path', at, (0,external_node_path_.join)(at, 'tar')] : [(0,external_node_path_.join)(at, 'tar')]);
        // The copy must run on its own, from its directory, before any container relies on it.
        const [file, ...args] = words(dir);
        const version = await host.run(file, [...args, '--version']);
        if (!version.stdout.includes('GNU tar'))
            throw new Error(`the copy answered ${JSON.stringify(version.stdout.split('\n')[0])}`);
        const command = words(`${mountedAt}/${TAR_DIR}`).join(' ');
        await (0,promises_namespaceObject.writeFile)(ready, `${command}\n`, { mode: 0o644 });
        return { command };
    }
    catch (e) {
        await (0,promises_namespaceObject.rm)(dir, { recursive: true, force: true }).catch(() => undefined);
        return { problem: `the runner's GNU tar (${tar}) could not be copied into the job directory and run there (${e.message.trim()})` };
    }
}

;// CONCATENATED MODULE: ./src/cache/data-root.ts
// data-root snapshots that keep what overlay layers need: extended attributes (trusted.overlay.opaque marks a
// directory a later layer replaced), whiteout devices, owners by number. The engine's archive API keeps none of the
// trusted.* attributes, so the tar is made by GNU tar (the runner's own, from the job directory: gnu-tar.ts; else the
// image's) in a short-lived container of the dind image that mounts the daemon's volume, and unpacked by the daemon's own container before dockerd starts (seedScript in its init script;
// a helper container where that cannot be: another runtime, a remote engine). It streams through a FIFO in the
// per-job directory, which those containers mount.
// Runtime state never enters a snapshot: containers (with their restart policies), networks, containerd's task
// state, volumes and temporary files are left out, and the daemon is pruned before it stops.








const data_root_run = (0,external_node_util_.promisify)(external_node_child_process_namespaceObject.execFile);
/** Where the helper sees the daemon's volume and the per-job directory. */
const DATA = '/var/lib/docker';
const JOB = '/run/setup-dind';
/**
 * Paths under the data root a snapshot leaves out: runtime state, and volumes (data of the job, not of the cache).
 * The engine's ID (./engine-id) stays in: on the classic image store BuildKit's worker is named after it and its
 * cache records name the worker, so a daemon with a new ID ran every cached step again (measured on Docker 28.5).
 */
const SNAPSHOT_EXCLUDES = [
    './containers', './network', './runtimes', './tmp', './volumes', './swarm', './image/*/layerdb/mounts',
    './containerd/daemon/io.containerd.runtime.v2.task', './containerd/daemon/io.containerd.sandbox.controller.v1.shim',
];
/** What a save leaves out: with cache-volumes the daemon's volumes stay in (named ones: anonymous volumes go with their containers). */
const snapshotExcludes = (volumes = false) => (volumes ? SNAPSHOT_EXCLUDES.filter((x) => x !== './volumes') : SNAPSHOT_EXCLUDES);
/** Exit code of the helper when neither the runner's tar nor the image's is GNU tar (busybox tar drops extended attributes). */
const NO_GNU_TAR = 90;
const NO_GNU_TAR_MESSAGE = 'this image has no GNU tar (busybox tar drops the overlay metadata a snapshot needs)';
/** The one message for exit 90: why the runner's GNU tar could not be used, and the remedy. */
function noGnuTar(tar) {
    const why = 'problem' in tar ? tar.problem : "the runner's GNU tar did not run in the container";
    return `${NO_GNU_TAR_MESSAGE}, and ${why}; install GNU tar on the runner (apt-get install tar) or use a dind image that has it (apk add tar)`;
}
// Shell pieces both scripts use (the helper's, and the daemon's init when it unpacks itself). sdtar: the runner's
// GNU tar (SETUP_DIND_TAR, its words without spaces), else the image's tar when it is GNU tar, else empty.
const PICK_TAR = `sdtar=\${${TAR_ENV}:-}
[ -n "$sdtar" ] || ! tar --version 2>/dev/null | grep -q 'GNU tar' || sdtar=tar`;
const NO_GNU_TAR_SAY = `echo "setup-dind: ${NO_GNU_TAR_MESSAGE}" >&2`;
/** Exits 91 when `fifo` (a shell word) is not a FIFO here: the engine's host sees another file system. */
const fifoOr91 = (fifo) => `[ -p "${fifo}" ] || { echo "setup-dind: ${fifo} is not the FIFO the runner made (is the engine on another machine?)" >&2; exit 91; }`;
const EXTRACT = "$sdtar --extract --read-full-records --xattrs --xattrs-include='*' --numeric-owner --same-owner --preserve-permissions";
/**
 * The helper's script: `save` writes the data root into the FIFO, `restore` unpacks the FIFO into it. A fixed text:
 * the FIFO's path and the excludes arrive as arguments.
 */
const SNAPSHOT_SCRIPT = `set -e
mode=$1 fifo=$2; shift 2
${PICK_TAR}
[ -n "$sdtar" ] || { ${NO_GNU_TAR_SAY}; exit ${NO_GNU_TAR}; }
${fifoOr91('$fifo')}
cd ${DATA}
if [ "$mode" = save ]; then
  for x in "$@"; do set -- "$@" "--exclude=$x"; shift; done
  exec $sdtar --create --file="$fifo" --xattrs --xattrs-include='*' --numeric-owner --sparse --anchored "$@" .
fi
exec ${EXTRACT} --file="$fifo"`;
/** The environment that hands the runner's GNU tar to the scripts (none when the runner has none). */
const tarEnv = (tar) => (tar && 'command' in tar ? [`${TAR_ENV}=${tar.command}`] : []);
function helperSpec(place, mode, fifoName, tar) {
    return {
        name: `${place.volume}-${mode}-${(0,external_node_crypto_.randomBytes)(3).toString('hex')}`,
        Image: place.image,
        Env: tarEnv(tar),
        Entrypoint: ['sh', '-c', SNAPSHOT_SCRIPT, 'setup-dind-snapshot'],
        Cmd: [mode, `${JOB}/${fifoName}`, ...(mode === 'save' ? snapshotExcludes(place.volumes) : [])],
        Labels: place.labels,
        HostConfig: {
            // Reading and writing trusted.* attributes needs CAP_SYS_ADMIN; nothing else beyond Docker's defaults.
            CapAdd: ['SYS_ADMIN'],
            NetworkMode: 'none',
            Mounts: [
                { Type: 'volume', Source: place.volume, Target: DATA, ...(mode === 'save' ? { ReadOnly: true } : {}) },
                { Type: 'bind', Source: place.hostJobDir, Target: JOB },
            ],
        },
    };
}
class SnapshotError extends Error {
}
/** A FIFO `<stem>.fifo` in the job directory, the runner's alone. */
async function makeFifo(jobDir, stem = `snapshot-${(0,external_node_crypto_.randomBytes)(4).toString('hex')}`) {
    const name = `${stem}.fifo`;
    const path = (0,external_node_path_.join)(jobDir, name);
    await data_root_run('mkfifo', ['-m', '600', path]);
    return { name, path };
}
/** Opens and closes the other end, so an open still waiting for a helper that died returns (and fails). */
async function unblock(path, flags) {
    const handle = await (0,promises_namespaceObject.open)(path, flags | external_node_fs_.constants.O_NONBLOCK).catch(() => undefined);
    await handle?.close();
}
/** Runs the helper to its end; a SnapshotError with its output when it fails. */
async function data_root_runHelper(place, spec, tar, onExit) {
    const { engine } = place;
    const id = await engine.createContainer(spec);
    try {
        await engine.startContainer(id);
        const code = await engine.waitContainer(id);
        await onExit();
        if (code !== 0) {
            const output = code === NO_GNU_TAR ? noGnuTar(tar) : (await engine.containerLogs(id, 20).catch(() => '')).trim();
            throw new SnapshotError(`${spec.Cmd[0]} of the data root failed (exit ${code})${output ? `: ${output}` : ''}`);
        }
    }
    finally {
        await engine.removeContainer(id).catch(() => undefined);
    }
}
/**
 * The daemon's (stopped) data root as a tar in a FIFO, written by the helper container. A directory backend's zstd
 * reads it there; a stream consumer gets a stream that ends only when the helper exited 0 (a tar cut short errors
 * instead of ending). Either way no backend ever stores a truncated snapshot as an entry.
 */
async function snapshotDataRoot(place) {
    const tar = await (place.tar ?? runnerTar)(place.jobDir, JOB);
    const fifo = await makeFifo(place.jobDir);
    let readerDone;
    const made = data_root_runHelper(place, helperSpec(place, 'save', fifo.name, tar), tar, async () => {
        await unblock(fifo.path, external_node_fs_.constants.O_WRONLY);
        await readerDone;
    }).finally(async () => {
        // A helper that never started or never opened the FIFO: a reader waiting in its open gets the end of the file.
        await unblock(fifo.path, external_node_fs_.constants.O_WRONLY);
        await (0,promises_namespaceObject.rm)(fifo.path, { force: true });
    });
    made.catch(() => undefined);
    return {
        fifo: fifo.path,
        made,
        stream: () => {
            const out = new external_node_stream_.PassThrough();
            const reader = (0,external_node_fs_.createReadStream)(fifo.path);
            reader.on('error', (e) => out.destroy(e));
            reader.pipe(out, { end: false });
            readerDone = new Promise((resolve) => reader.on('close', resolve));
            made.then(() => out.end(), (e) => out.destroy(e));
            return out;
        },
    };
}
/**
 * Unpacks a snapshot tar into the daemon's volume (before dockerd starts). The source's own child process (zstd, for
 * a directory entry) writes into the FIFO: the tar never passes through Node.
 */
async function restoreDataRootSnapshot(place, tar) {
    const gnuTar = await (place.tar ?? runnerTar)(place.jobDir, JOB);
    const fifo = await makeFifo(place.jobDir);
    try {
        const written = tar.writeTo(fifo.path);
        written.catch(() => undefined);
        try {
            await data_root_runHelper(place, helperSpec(place, 'restore', fifo.name, gnuTar), gnuTar, async () => undefined);
        }
        finally {
            // A helper that never opened the FIFO (or stopped early): the writer's open returns, and its writes fail.
            await release(fifo.path, written);
        }
        await written;
    }
    finally {
        await (0,promises_namespaceObject.rm)(fifo.path, { force: true });
    }
}
/**
 * The daemon's own container unpacks a snapshot (a root image through runc on a local engine): its init script runs
 * this before dockerd, so no helper container is created and started, and the backend's lookup (a download, from a
 * cache service) runs while the engine creates and starts the daemon's container. The hand-over goes through files
 * in the job directory named by SETUP_DIND_RESTORE:
 *   .fifo     the tar, written by the runner's zstd (or cat); made before the container is created
 *   .plan     the runner's word: "data" (the tar comes through the FIFO) or "none" (no entry: start cold)
 *   .status   tar's exit code, from the init script (90: no GNU tar, 93: no plan in time)
 *   .verdict  the runner's word after its writer ended: "keep", or "discard" (zstd failed: the tar may be cut short or
 *             corrupt even when tar itself succeeded); anything but "keep" empties the data root again
 *   .done     the init script is through: a container started again (docker restart) keeps its data root as it is
 * A FIFO that is not there (the engine sees another file system) ends the container with 91: the runner replaces it
 * by a cold one when it had an entry to give; without one the job's daemon could not work there anyway (its socket and
 * files are in the same directory), and main reports the container's exit. SETUP_DIND_RESTORE_WAIT bounds each wait
 * for a word of the runner: a runner that is gone leaves a cold daemon. Only tar's open of the FIFO waits for the
 * runner's writer without a bound (the runner opens it at once after "data"; post's removal ends a container whose
 * runner died in between).
 */
const SEED_ENV = 'SETUP_DIND_RESTORE';
const seedScript = (run = JOB, data = DATA) => `if [ -n "\${${SEED_ENV}:-}" ] && [ ! -e "${run}/$${SEED_ENV}.done" ]; then
  r="${run}/$${SEED_ENV}" d="${data}" rc=0 t=0.02 w="\${${SEED_ENV}_WAIT:-600}"
  m=$((w * 50))
  ${fifoOr91('$r.fifo')}
  seed_wait() {
    n=0
    while [ ! -s "$1" ]; do
      [ "$n" -lt "$m" ] || return 1
      sleep "$t" 2>/dev/null || { t=1 m=$w; }
      n=$((n + 1))
    done
  }
  if ! seed_wait "$r.plan"; then
    echo "setup-dind: no word from the runner on the data-root restore within $w s; the daemon starts cold" >&2
    echo 93 > "$r.status.tmp" && mv -f "$r.status.tmp" "$r.status"
  elif [ "$(cat "$r.plan")" = data ]; then
    ${PICK_TAR}
    if [ -n "$sdtar" ]; then
      ${EXTRACT} --file="$r.fifo" --directory="$d" || rc=$?
    else
      ${NO_GNU_TAR_SAY}; rc=${NO_GNU_TAR}
    fi
    echo "$rc" > "$r.status.tmp" && mv -f "$r.status.tmp" "$r.status"
    if [ "$rc" = 0 ]; then { seed_wait "$r.verdict" && [ "$(cat "$r.verdict")" = keep ]; } || rc=94; fi
    if [ "$rc" != 0 ]; then
      echo "setup-dind: the data-root restore was not completed (status $rc); what it wrote is removed and the daemon starts cold" >&2
      rm -rf "$d"/* "$d"/.[!.]* "$d"/..?* || :
      [ -z "$(ls -A "$d")" ] || { echo "setup-dind: could not empty $d" >&2; exit 92; }
    fi
  fi
  : > "$r.done"
fi
`;
/**
 * The cache's restore run through the daemon's init script. `restore` runs the backend's restore with the consumer it
 * is given (and `waited`, the milliseconds the consumer spent waiting for the container, which are not the
 * restore's); it resolves false when the restore failed (a missing entry is no failure). The lookup starts now.
 */
async function seedDaemon(jobDir, waitSeconds, restore, pollMs = 20, gnuTar = () => runnerTar(jobDir, JOB)) {
    const tarFound = await gnuTar();
    const name = `restore-${(0,external_node_crypto_.randomBytes)(4).toString('hex')}`;
    const base = (0,external_node_path_.join)(jobDir, name);
    const { path: fifo } = await makeFifo(jobDir, name);
    let startedOne = () => undefined;
    const container = new Promise((resolve) => (startedOne = resolve));
    let waitedMs = 0;
    let abandoned = false;
    const consume = async (tar) => {
        // Too late (the restore's deadline passed, or no container started): the init script was told "none" already.
        if (abandoned)
            throw new SnapshotError('no daemon container was started');
        if (!(await decide(base, 'plan', 'data')))
            throw new SnapshotError('the daemon had started cold before the entry was found');
        const written = tar.writeTo(fifo);
        // The verdict follows the writer at once: the init script reads it as soon as its tar is done.
        const verdict = written.then(() => decide(base, 'verdict', 'keep'), () => decide(base, 'verdict', 'discard'));
        const waiting = performance.now();
        const target = await container;
        waitedMs = performance.now() - waiting;
        const status = target ? await initStatus(target, `${base}.status`, pollMs, waitSeconds * 1000) : undefined;
        if (status !== 0) {
            // The init script never opened the FIFO, or stopped reading: the writer's open returns and its writes fail.
            await release(fifo, written);
            await verdict;
            throw new SnapshotError(target ? await whyNotUnpacked(target, status, tarFound) : 'no daemon container was started');
        }
        await written;
        await verdict;
    };
    const outcome = restore(consume, () => waitedMs).catch(() => false);
    // No entry, or a failure before any tar: the init script goes on at once (a "data" written before stays).
    const done = outcome.then(async (kept) => {
        await decide(base, 'plan', 'none');
        if (!kept)
            await decide(base, 'verdict', 'discard');
        return kept;
    });
    return {
        env: [`${SEED_ENV}=${name}`, `${SEED_ENV}_WAIT=${waitSeconds}`, ...tarEnv(tarFound)],
        started: async (target) => {
            startedOne(target);
            if (await done)
                return true;
            // Gone or stopped: replace it. An engine that does not answer this once: keep it (main's wait decides).
            const c = await target.engine.inspectContainer(target.id).then((x) => x ?? null, () => undefined);
            return c !== null && c?.running !== false;
        },
        // The phase fails at once: a lookup still running (a download) ends on its own, and its tar is refused.
        abandon: async () => {
            abandoned = true;
            startedOne(undefined);
            await decide(base, 'plan', 'none').catch(() => undefined);
        },
    };
}
/**
 * Writes the runner's word once: the first word stands (a hard link never replaces a file), and appears whole.
 * True when this word is the one that stands.
 */
async function decide(base, kind, value) {
    const final = `${base}.${kind}`;
    const temporary = `${final}.${(0,external_node_crypto_.randomBytes)(3).toString('hex')}`;
    await (0,promises_namespaceObject.writeFile)(temporary, `${value}\n`, { mode: 0o644 });
    try {
        await (0,promises_namespaceObject.link)(temporary, final);
        return true;
    }
    catch (e) {
        if (e.code !== 'EEXIST')
            throw e;
        return (await (0,promises_namespaceObject.readFile)(final, 'utf8')).trim() === value;
    }
    finally {
        await (0,promises_namespaceObject.rm)(temporary, { force: true });
    }
}
/**
 * Ends a writer that waits to open the FIFO or writes into it with no reader: opens and closes the reading end until
 * the writer settled (its open may come after one such open).
 */
async function release(fifo, written) {
    let settled = false;
    const done = written.then(() => (settled = true), () => (settled = true));
    for (let i = 0; i < 200 && !settled; i++) {
        await unblock(fifo, external_node_fs_.constants.O_RDONLY);
        await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 50))]);
    }
}
/**
 * tar's exit code from the init script; 'exited' when its container stopped running (or is gone) before it wrote
 * one; 'late' when nothing came within `limitMs` (the init script's own bound on its waits).
 */
async function initStatus(target, file, pollMs, limitMs) {
    const read = async () => (await (0,promises_namespaceObject.readFile)(file, 'utf8').catch(() => '')).trim();
    const until = performance.now() + limitMs;
    for (let i = 1; performance.now() < until; i++) {
        const text = await read();
        if (text)
            return Number(text);
        // Asking the engine costs more than a look at the file: every quarter of a second. An engine that does not
        // answer this once says nothing about the container.
        if (i % Math.max(1, Math.round(250 / pollMs)) === 0) {
            const c = await target.engine.inspectContainer(target.id).then((x) => x ?? null, () => undefined);
            if (c === null || c?.running === false) {
                const last = await read();
                return last ? Number(last) : 'exited';
            }
        }
        await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
    return 'late';
}
async function whyNotUnpacked(target, status, tar) {
    if (status === 'late')
        return 'the daemon\'s container said nothing about the unpack in time';
    if (status === NO_GNU_TAR)
        return noGnuTar(tar);
    if (status === 93)
        return 'the daemon\'s container had no word from the runner in time';
    const output = (await target.engine.containerLogs(target.id, 10).catch(() => '')).trim().split('\n').filter((l) => /tar|setup-dind/.test(l)).join(' / ');
    if (status === 'exited') {
        const c = await target.engine.inspectContainer(target.id).catch(() => undefined);
        return `the daemon's container ended before it unpacked the entry${c ? ` (exit ${c.exitCode})` : ''}${output ? `: ${output}` : ''}`;
    }
    return `unpacking in the daemon's container failed (tar exit ${status})${output ? `: ${output}` : ''}`;
}

;// CONCATENATED MODULE: ./src/daemon/dind-plan.ts








/** Inside the container: our per-job directory (the socket, the TLS files). */
const RUN_DIR = '/run/setup-dind';
/** dockerd's TLS port inside the container (published on 127.0.0.1, or reached by name on a job network). */
const TLS_PORT_NUMBER = 2376;
const TLS_PORT = `${TLS_PORT_NUMBER}/tcp`;
const MAX_SOCKET_PATH_BYTES = 107;
/**
 * Runs before dockerd, in any image with a POSIX sh (docker:dind, Debian, Alpine). Without --privileged, the cgroup
 * mounts are read-only: remount them writable (cgroup v2 mount, or v1 bind mounts). On cgroup v2, move every process
 * out of the namespace's root cgroup so dockerd can enable controllers (as docker's own dind script does). A fixed
 * script: the daemon's arguments arrive as "$@", never inside the script text. The iptables backend is chosen as
 * docker's own entrypoint chooses it (iptables.ts).
 */
const INIT_SCRIPT = `set -e
while read -r _ mp _ opts _; do
  case "$mp" in /sys/fs/cgroup|/sys/fs/cgroup/*)
    case ",$opts," in *,ro,*) mount -o remount,rw "$mp" 2>/dev/null || mount -o remount,bind,rw "$mp" 2>/dev/null || echo "setup-dind: cannot make $mp writable" >&2 ;; esac ;;
  esac
done < /proc/self/mounts
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  mkdir -p /sys/fs/cgroup/init
  while read -r pid; do echo "$pid" > /sys/fs/cgroup/init/cgroup.procs 2>/dev/null || :; done < /sys/fs/cgroup/cgroup.procs
  sed -e 's/ / +/g' -e 's/^/+/' < /sys/fs/cgroup/cgroup.controllers > /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || :
fi
mount --make-rshared / 2>/dev/null || :
rm -f /var/run/docker.pid /run/docker.pid
${seedScript()}${IPTABLES_CHOICE}
${CLAIMS_INIT}${MTU_SCRIPT}exec "$@"`;
// Linux capabilities by number (capability.h), to turn our own bounding set into names the engine understands.
const CAPABILITIES = ['CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
    'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE',
    'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME',
    'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG',
    'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF', 'CHECKPOINT_RESTORE'];
/**
 * Capabilities the host withholds, read from our own bounding set (`CapBnd` in /proc/self/status): a runner whose
 * engine refuses --privileged ("unable to apply caps") usually withholds the same ones from every process.
 */
function withheldCapabilities(procStatus) {
    const match = /^CapBnd:\s*([0-9a-f]+)/m.exec(procStatus);
    if (!match)
        return [];
    const bounding = BigInt(`0x${match[1]}`);
    return CAPABILITIES.filter((_, bit) => ((bounding >> BigInt(bit)) & 1n) === 0n);
}
/**
 * What a nested dockerd needs beyond Docker's default set (mounts, networking, cgroups, namespaces), for engines that
 * refuse "ALL" (a withheld capability, or one the engine does not know). SYS_RESOURCE is left out on purpose: it is
 * the one hosts most often withhold, and dockerd runs without it.
 */
const NESTED_DOCKERD_CAPABILITIES = ['SYS_ADMIN', 'NET_ADMIN', 'SYS_PTRACE', 'IPC_LOCK', 'SYS_NICE', 'DAC_READ_SEARCH', 'NET_RAW', 'MKNOD', 'SETFCAP', 'SETPCAP'];
/** dockerd's flags: our socket (root images), the config file, the TLS listener. */
function daemonFlags(p, gated = false) {
    const { dind } = p.inputs;
    // A rootless daemon keeps its socket in its user's runtime directory (the runner reaches it over TLS); a root one
    // answers in the job directory and at the well-known path (containers that mount /var/run/docker.sock).
    const args = dind.rootless ? [] : [`--host=unix://${RUN_DIR}/${gated ? DAEMON_SOCKET : JOB_SOCKET}`, '--host=unix:///var/run/docker.sock', `--group=${p.socketGroup}`];
    if (p.configFile)
        args.push(`--config-file=${RUN_DIR}/daemon.json`);
    const tls = dind.rootless ? ROOTLESS_TLS_DIR : `${RUN_DIR}/tls/server`;
    if (dind.tcp) {
        args.push(`--host=tcp://0.0.0.0:${TLS_PORT_NUMBER}`, '--tlsverify', `--tlscacert=${tls}/ca.pem`, `--tlscert=${tls}/server-cert.pem`, `--tlskey=${tls}/server-key.pem`);
    }
    return args;
}
/**
 * A rootless image keeps its entrypoint and user (they start rootlesskit); rootlesskit forwards the TLS port out of
 * its network namespace and needs the tun device. The job directory is not its user's to read: only the files it
 * needs are mounted (the server's TLS files, daemon.json).
 */
function rootlessParts(p, name) {
    return {
        Env: [`DOCKERD_ROOTLESS_ROOTLESSKIT_FLAGS=-p 0.0.0.0:${TLS_PORT_NUMBER}:${TLS_PORT_NUMBER}/tcp`, 'DOCKER_TLS_CERTDIR='],
        mounts: [
            { Type: 'bind', Source: `${p.hostJobDir}/rootless-tls`, Target: ROOTLESS_TLS_DIR, ReadOnly: true },
            ...(p.configFile ? [{ Type: 'bind', Source: `${p.hostJobDir}/daemon.json`, Target: `${RUN_DIR}/daemon.json`, ReadOnly: true }] : []),
            ...(p.rootlessDataRoot ? [{ Type: 'volume', Source: name, Target: p.rootlessDataRoot }] : []),
        ],
        devices: [{ PathOnHost: TUN_DEVICE, PathInContainer: TUN_DEVICE, CgroupPermissions: 'rwm' }],
    };
}
/** The container specs to try, in order: privileged first under `auto`, then the explicit capability set. */
function planDind(p) {
    const { dind } = p.inputs;
    const name = objectName(p.session);
    const rootless = dind.rootless ? rootlessParts(p, name) : undefined;
    const ownMounts = rootless
        ? rootless.mounts
        : [
            { Type: 'bind', Source: p.hostJobDir, Target: RUN_DIR },
            { Type: 'volume', Source: name, Target: '/var/lib/docker' },
            // A bind mount of the parent: directory names like "registry:5000" cannot go through -v syntax.
            ...(p.certsDir ? [{ Type: 'bind', Source: `${p.hostJobDir}/certs.d`, Target: '/etc/docker/certs.d' }] : []),
        ];
    const base = {
        name,
        Image: dind.image,
        ...(rootless ? {} : { Entrypoint: ['sh', '-c', INIT_SCRIPT, 'setup-dind-init'] }),
        Cmd: ['dockerd', ...daemonFlags(p), ...dind.daemonArgs],
        Labels: p.labels,
        Env: [...apiVersionEnvironment(), ...(rootless?.Env ?? []), ...(p.extras?.env ?? [])],
        HostConfig: {
            // A rootless image's entrypoint starts its own init (docker-init) under rootlesskit.
            Init: !rootless,
            Mounts: [...ownMounts, ...(p.extras?.mounts ?? [])],
            ...(rootless ? { Devices: rootless.devices } : {}),
            ...(dind.tcp ? { PortBindings: { [TLS_PORT]: [{ HostIp: '127.0.0.1', HostPort: '' }] } } : {}),
            ...(dind.network ? { NetworkMode: dind.network } : {}),
            ...(p.extras?.sysctls ? { Sysctls: p.extras.sysctls } : {}),
        },
        ...(dind.tcp ? { ExposedPorts: { [TLS_PORT]: {} } } : {}),
        ...(dind.network ? { NetworkingConfig: { EndpointsConfig: { [dind.network]: { Aliases: ['docker'] } } } } : {}),
    };
    // Every plan but --privileged must pass the run check: where the job's socket is all it gets, that socket is gated.
    const gated = p.gateable === true && !dind.rootless && !dind.tcp;
    const checked = gated ? { ...base, Cmd: ['dockerd', ...daemonFlags(p, true), ...dind.daemonArgs] } : base;
    const privileged = { strategy: 'privileged', gated: false, spec: { ...base, HostConfig: { ...base.HostConfig, Privileged: true } } };
    const unconfined = { SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined', 'label=disable'], MaskedPaths: [], ReadonlyPaths: [] };
    // Our bounding set is only a hint (in a pod it is the pod's, not the engine's): never drop what dockerd needs.
    const drop = p.withheld?.filter((c) => !NESTED_DOCKERD_CAPABILITIES.includes(c));
    const explicit = drop
        ? [{ strategy: 'explicit-capabilities', gated, spec: { ...checked, HostConfig: { ...base.HostConfig, CapAdd: ['ALL'], CapDrop: drop, ...unconfined } } }]
        : [];
    const minimal = {
        strategy: 'minimal-capabilities',
        gated,
        spec: { ...checked, HostConfig: { ...base.HostConfig, CapAdd: NESTED_DOCKERD_CAPABILITIES, ...unconfined } },
    };
    if (dind.runtime)
        return [{ strategy: 'runtime', gated, spec: { ...checked, HostConfig: { ...base.HostConfig, Runtime: dind.runtime } } }];
    if (dind.privileged === 'true')
        return [privileged];
    // false forbids the near-root fallback too: only the set a nested dockerd needs.
    if (dind.privileged === 'false')
        return [minimal];
    // auto: the engine's answer decides. Our own bounding set is not the engine's on container-based runners (Actions
    // Runner Controller, GitLab's Kubernetes executor), so --privileged is tried unless this engine refused it in an
    // earlier job; a refusal costs one create/start/remove cycle.
    return p.remembered?.refusal ? [...explicit, minimal] : [privileged, ...explicit, minimal];
}
const dropped = (withheld) => (withheld ?? []).filter((c) => !NESTED_DOCKERD_CAPABILITIES.includes(c));
/** Exactly what a plan grants the daemon's container, for the warning and the job summary. */
function describeGrant(strategy, inputs, withheld) {
    const unconfined = 'seccomp, AppArmor and SELinux labels off, /proc and /sys unmasked';
    switch (strategy) {
        case 'privileged':
            return '--privileged: every capability, every host device, no seccomp/AppArmor confinement (root on the runner host)';
        case 'explicit-capabilities':
            return `every capability except ${dropped(withheld).join(', ') || 'none'} (CapAdd ALL), ${unconfined}: nearly root on the runner host`;
        case 'minimal-capabilities':
            return `Docker's default capabilities plus ${NESTED_DOCKERD_CAPABILITIES.join(', ')}, ${unconfined}`;
        case 'runtime':
            return `the ${inputs.dind.runtime} runtime, no added capabilities`;
    }
}

;// CONCATENATED MODULE: ./src/daemon/dind-attach.ts
// dind mode, attach: the daemon started earlier in this job, reached through its socket or its TLS port, with the
// health checks main runs while it waits (its container gone, restarted or exited).









/** The daemon started earlier in this job: its endpoint (recorded in state for post), outputs and health checks. */
async function attachDind(inputs, state, s, platform) {
    if (!s.outer || !s.containerId || !s.jobDir)
        throw new Error('the dind container was not started');
    const engine = new EngineClient(loadEndpoint(s.outer));
    const id = s.containerId;
    let endpoint = { address: { kind: 'unix', path: (0,external_node_path_.join)(s.jobDir, JOB_SOCKET) } };
    // Gated: the action itself talks to dockerd's own socket; the job's waits for the run check.
    const internal = s.gated ? { address: { kind: 'unix', path: (0,external_node_path_.join)(s.jobDir, DAEMON_SOCKET) } } : undefined;
    const outputs = { 'container-id': id };
    if (inputs.dind.tcp) {
        const certPath = (0,external_node_path_.join)(s.jobDir, 'tls', 'client');
        if (s.containerJob && s.network) {
            // The job container reaches the daemon by name on the job's network (the server certificate names it).
            endpoint = { address: { kind: 'tcp', host: objectName(s.session), port: TLS_PORT_NUMBER }, tlsCertPath: certPath };
        }
        else {
            const c = s.placement?.tlsHostPort ? undefined : await engine.inspectContainer(id);
            const port = s.placement?.tlsHostPort ?? placementOf(c, s.network?.name).tlsHostPort;
            // A container that died before its port was read (a rootless image whose rootlesskit fails at once): why.
            if (!port)
                throw new Error(`the dind daemon will not become ready: ${(await whyNotRunning(engine, id, inputs)) ?? `its container ${id.slice(0, 12)} has no published TLS port (state: ${c?.status})`}`);
            endpoint = { address: { kind: 'tcp', host: '127.0.0.1', port: Number(port) }, tlsCertPath: certPath };
        }
        outputs['cert-path'] = certPath;
    }
    state.update({ endpoint: saveEndpoint(endpoint) });
    const { address } = s.placement ?? placementOf(await engine.inspectContainer(id), s.network?.name);
    if (address)
        outputs['daemon-address'] = address;
    return {
        endpoint,
        ...(internal ? { internal } : {}),
        outputs,
        facts: { Image: inputs.dind.image, Privileges: s.privilegeGrant ?? s.privilege ?? '', ...(address ? { 'Daemon address': address } : {}) },
        afterReady: inputs.integration.forwardPorts && address
            ? () => (s.forwarder?.ready
                ? forwarderFollowing({ ...s.forwarder, ready: s.forwarder.ready }, platform.log, platform.env, address, undefined, gatedBy(s, s.forwarder.pid))
                : startPortForwarding({ endpoint, target: address, jobDir: s.jobDir, state, guard: helperGuard(state.value), log: platform.log, env: platform.env }))
            : undefined,
        giveUp: () => whyNotRunning(engine, id, inputs),
        logTail: (lines) => engine.containerLogs(id, lines),
    };
}
/** Why the daemon's container cannot bring the daemon up any more (gone, restarted, exited), or undefined. */
async function whyNotRunning(engine, id, inputs) {
    const c = await engine.inspectContainer(id);
    if (!c)
        return 'its container was removed';
    if (c.restartCount > 0)
        return `its container restarted ${c.restartCount} time(s)`;
    if (c.running)
        return undefined;
    const remedy = inputs.dind.rootless ? rootlessRemedy(await engine.containerLogs(id, 30).catch(() => '')) : undefined;
    return `its container exited with code ${c.exitCode}${c.error ? ` (${c.error})` : ''}${remedy ? `: ${remedy}` : ''}`;
}
/** Where a started container is: its IP address (on `network` when given, else its first) and its published TLS port. */
function placementOf(c, network) {
    return {
        address: c ? ((network ? c.addresses[network] : undefined) ?? Object.values(c.addresses)[0]) : undefined,
        tlsHostPort: c?.ports[TLS_PORT]?.find((b) => b.hostPort)?.hostPort,
    };
}
/** The job's socket is gated by this helper process (the port forwarder that runs the check too). */
const gatedBy = (s, pid) => s.gated === true && s.runCheck?.pid === pid;

;// CONCATENATED MODULE: ./src/daemon/privilege-memory.ts
// privileged: auto on an engine that refuses --privileged pays a refused create/start/remove cycle (0.3-0.5 s) in
// every job. The answer is remembered per engine, for later jobs of the same user on the same host:
// - where: a directory of the user's own (XDG_CACHE_HOME, else ~/.cache), used only when it and the entry are ours
//   and nobody else can write them (another user can neither plant nor change an answer we act on);
// - per engine: the engine's ID (dockerd keeps it in its data root) names the entry, and the entry holds what the
//   engine said about itself (version, kernel, OS, cgroup driver, default runtime): an engine that changed any of
//   them, or a new engine behind the same socket, is asked again;
// - never wrong for long: an answer is used for MEMORY_TTL_MS after it was learnt, then the engine is asked again;
//   and when the plan it chose is refused too, the answer is forgotten at once.
// Only refusals are remembered (an engine that accepts --privileged is tried first anyway). SETUP_DIND_ENGINE_MEMORY=off
// turns it off. Every failure to read or write it is silent: it only saves time, it never decides what is granted
// beyond skipping an attempt the same engine refused.



const MEMORY_TTL_MS = 60 * 60 * 1000;
/** The directory of the memory, or undefined when it is off or there is no private place for it. */
function memoryDir(env) {
    if (env.SETUP_DIND_ENGINE_MEMORY === 'off')
        return undefined;
    const base = env.XDG_CACHE_HOME && (0,external_node_path_.isAbsolute)(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : env.HOME && (0,external_node_path_.isAbsolute)(env.HOME) ? (0,external_node_path_.join)(env.HOME, '.cache') : undefined;
    return base ? (0,external_node_path_.join)(base, 'setup-dind', 'engines') : undefined;
}
const fingerprintOf = (e) => [e.serverVersion, e.kernelVersion, e.operatingSystem, e.cgroupDriver, e.defaultRuntime].join('\n');
/** Ours, not a link, and writable by nobody else. */
function isPrivate(path, kind) {
    try {
        const st = (0,external_node_fs_.lstatSync)(path);
        const me = process.getuid?.();
        return (kind === 'dir' ? st.isDirectory() : st.isFile()) && (me === undefined || st.uid === me) && (st.mode & 0o022) === 0;
    }
    catch {
        return false;
    }
}
function ensurePrivateDir(dir) {
    try {
        (0,external_node_fs_.mkdirSync)(dir, { recursive: true, mode: 0o700 });
    }
    catch {
        return false;
    }
    return isPrivate(dir, 'dir');
}
/** The memory of the engine that gave `info`, in `dir`; `now` is the clock (epoch ms). */
function privilegeMemory(dir, info, now = Date.now) {
    const { id } = info.engine;
    if (!id)
        return undefined;
    const fingerprint = fingerprintOf(info.engine);
    const path = (0,external_node_path_.join)(dir, `${(0,external_node_crypto_.createHash)('sha256').update(id).digest('hex').slice(0, 32)}.json`);
    const read = () => {
        if (!isPrivate(dir, 'dir') || !isPrivate(path, 'file'))
            return undefined;
        try {
            const e = JSON.parse((0,external_node_fs_.readFileSync)(path, 'utf8'));
            const age = now() - e.refusal.learnedAt;
            // A future date (a clock set back) is no proof of anything.
            return e.id === id && e.fingerprint === fingerprint && typeof e.refusal.error === 'string' && age >= -60_000 && age < MEMORY_TTL_MS ? e.refusal : undefined;
        }
        catch {
            return undefined;
        }
    };
    const write = (entry) => {
        if (!ensurePrivateDir(dir))
            return;
        // Whole or not at all: a new file renamed over the old one (several jobs may learn at once; the last one wins).
        const tmp = `${path}.${process.pid}.${(0,external_node_crypto_.randomBytes)(4).toString('hex')}.tmp`;
        try {
            (0,external_node_fs_.writeFileSync)(tmp, JSON.stringify(entry), { mode: 0o600, flag: 'wx' });
            (0,external_node_fs_.renameSync)(tmp, path);
        }
        catch {
            /* it only saves time */
        }
    };
    const refusal = read();
    return {
        refusal,
        remember: (error) => write({ id, fingerprint, refusal: { error: error.slice(0, 1000), learnedAt: now() } }),
        forget: () => {
            try {
                if (isPrivate(dir, 'dir'))
                    (0,external_node_fs_.unlinkSync)(path);
            }
            catch {
                /* nothing was remembered */
            }
        },
    };
}
/** How a remembered refusal is named in the warning that says what was granted. */
const rememberedNote = (r, now = Date.now()) => `${r.error}; remembered from a job ${Math.max(0, Math.round((now - r.learnedAt) / 60_000))} min ago on this engine, asked again after ${Math.round(MEMORY_TTL_MS / 60_000)} min`;

;// CONCATENATED MODULE: ./src/daemon/dind.ts
// dind mode: the job's own dockerd in a container started through the runner's engine, its data on a labelled
// volume, reached through a unix socket in a per-job directory (TLS on 127.0.0.1 only when TCP is asked for).
// This file starts it (volume, network, files, the first plan the engine accepts, the background helpers); the
// plans are dind-plan.ts, the attach in main dind-attach.ts.





















/**
 * dind mode. `locate` gives the engine the phase located: the outer engine that runs the dind container (start
 * records it in state, so attach and post use that record, never DOCKER_HOST).
 */
function dindDaemon(inputs, platform, state, locate, deps) {
    const saved = () => {
        const s = state.value;
        if (!s)
            throw new Error('no session state: start() must run first');
        return s;
    };
    return {
        start: async () => startDind(inputs, platform, state, saved(), checkedEndpoint(locate()), deps),
        attach: async () => attachDind(inputs, state, saved(), platform),
    };
}
/**
 * The daemon's image on the engine: with the cache on, from the cache when it is a digest-pinned image the engine
 * lacks; else pulled (and post saves it for the next job). The reference to run it by.
 */
async function dindImage(engine, inputs, state, platform) {
    const fromCache = inputs.cache ? await restoreDindImage(engine, inputs.dind.image, inputs.cache, platform) : {};
    const image = fromCache.ref ?? (await supplyDindImage(engine, inputs, platform));
    if (fromCache.record)
        state.update({ dindImage: { ...fromCache.record, image } });
    return image;
}
/** Creates the volume, the network, the daemon's files and the container, recording each in state as it exists. */
async function startDind(inputs, platform, state, s, outer, deps) {
    state.update({ outer: saveEndpoint(outer) });
    const engine = new EngineClient(outer);
    const labels = sessionLabels(s.session, platform.job);
    const name = objectName(s.session);
    // Independent of each other: the job directory, where our paths are on the engine's host, the image, our bounding set.
    // And (privileged: auto) which engine this is, for what it said about --privileged before (privilege-memory.ts).
    const memory = inputs.dind.privileged === 'auto' && !inputs.dind.runtime ? memoryDir(platform.env) : undefined;
    const [jobDir, toHostPath, image, procStatus, engineInfo] = await allSettled([
        socketDir(platform, state),
        hostPathTranslator(engine, platform.env),
        dindImage(engine, inputs, state, platform),
        outer.address.kind === 'unix' ? deps.readProcStatus() : Promise.resolve(''),
        memory ? engine.info().catch(() => undefined) : Promise.resolve(undefined),
    ]);
    if (toHostPath.container)
        state.update({ containerJob: toHostPath.container.name });
    // In a container job, 127.0.0.1 is the job container's own loopback: a TCP daemon joins the job's network.
    const jobNetwork = toHostPath.container?.networks.find((n) => !['bridge', 'host', 'none'].includes(n));
    // Port forwarding runs in the job container too: it reaches the daemon on the job's network.
    const network = inputs.dind.network ?? (inputs.dind.tcp || inputs.integration.forwardPorts ? jobNetwork : undefined);
    const [files] = await allSettled([
        writeDaemonFiles(inputs, jobDir, name),
        (async () => {
            await engine.createVolume(name, labels);
            state.update({ volume: name });
        })(),
        network ? ensureNetwork(engine, network, labels, state, platform.log) : undefined,
    ]);
    state.update({ hostJobDir: toHostPath(jobDir) });
    if (inputs.dind.rootless)
        await rootlessTlsDir(jobDir);
    // A rootless image's data root is its user's (docker:dind-rootless declares it as its one volume).
    const volumes = inputs.dind.rootless ? await engine.imageVolumes(image) : [];
    const planInput = {
        inputs: network === inputs.dind.network && image === inputs.dind.image ? inputs : { ...inputs, dind: { ...inputs.dind, network, image } },
        session: s.session,
        labels,
        hostJobDir: toHostPath(jobDir),
        extras: await dindExtras({ inputs, platform, jobDir, hostJobDir: toHostPath(jobDir), translate: toHostPath, state }),
        socketGroup: deps.socketGroup(),
        // The engine decides (the --privileged attempt comes first); our own bounding set only shapes the fallback, and
        // says nothing about a remote engine or, in a container job, about the host.
        withheld: toHostPath.container || outer.address.kind !== 'unix' ? undefined : withheldCapabilities(procStatus),
        ...(volumes.length === 1 ? { rootlessDataRoot: volumes[0] } : {}),
        ...files,
        remembered: memory && engineInfo ? privilegeMemory(memory, engineInfo) : undefined,
        gateable: true,
    };
    // The init script unpacks where it sees the job directory's FIFO as we do: a local engine, a root image on runc.
    const seeded = deps.seed && outer.address.kind === 'unix' && !inputs.dind.runtime && !inputs.dind.rootless;
    await startFirstAccepted(engine, planInput, state, platform.log, seeded ? { seed: await deps.seed() } : { beforeStart: deps.beforeStart });
    await startHelpers(inputs, platform, state, engine, jobDir, network, deps.helperScript);
}
/**
 * While the daemon boots, what main would otherwise do after the job's checkout: the run check (a privileged daemon
 * needs none, see run-probe.ts) and the port forwarder. Both wait for the daemon themselves; main reads their results.
 */
async function startHelpers(inputs, platform, state, engine, jobDir, network, script) {
    // One inspect now, so main's attach asks the engine nothing: the daemon's address and its published TLS port.
    const placement = placementOf(await engine.inspectContainer(state.value.containerId), network);
    state.update({ placement });
    const { address } = placement;
    if (!script)
        return; // main runs the check and starts the forwarder itself
    const s = state.value;
    const daemon = { address: { kind: 'unix', path: (0,external_node_path_.join)(jobDir, s.gated ? DAEMON_SOCKET : JOB_SOCKET) } };
    const check = s.privilege !== 'privileged';
    const gate = s.gated ? { jobDir, privilege: s.privilege, grant: s.privilegeGrant } : undefined;
    const timeoutMs = inputs.waitTimeoutMs;
    if (inputs.integration.forwardPorts && address) {
        // One process: the forwarder runs the check too, as soon as the daemon answers.
        launchForwarder({ daemon, target: address, jobDir, timeoutMs, script, runCheck: check, gate, guard: helperGuard(state.value), record: (forwarder, runCheck) => state.update({ forwarder, runCheck }) });
    }
    else if (check) {
        startRunCheck({ daemon, jobDir, timeoutMs, script, gate, guard: helperGuard(state.value), record: (runCheck) => state.update({ runCheck }) });
    }
}
/**
 * Like Promise.all, but it settles only when every promise has: nothing created is still in flight (and so
 * unrecorded in state) when a failure ends the phase. The first failure in order is the one thrown.
 */
async function allSettled(promises) {
    const settled = await Promise.allSettled(promises);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed)
        throw failed.reason;
    return settled.map((r) => r.value);
}
/** The job's network: an existing one is used, a missing one created (and recorded as ours to remove). */
async function ensureNetwork(engine, network, labels, state, log) {
    const exists = await engine.networkExists(network);
    if (!exists) {
        await engine.createNetwork(network, labels);
        log.info(`Created network ${network}`);
    }
    state.update({ network: { name: network, created: !exists } });
}
/** The per-job directory, where the socket and certificates live (private to the runner's user). */
async function socketDir(platform, state) {
    const jobDir = await ensureJobDir(platform.job, state);
    // sun_path holds 108 bytes: a longer socket path makes dockerd listen where no client can connect.
    const socketPath = (0,external_node_path_.join)(jobDir, 'docker.sock');
    if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
        throw new Error(`the daemon's socket would be ${socketPath} (${Buffer.byteLength(socketPath)} bytes), longer than unix sockets allow (${MAX_SOCKET_PATH_BYTES}); ` +
            'use a shorter temporary directory (RUNNER_TEMP, or --state-dir / SETUP_DIND_STATE_DIR for the CLI)');
    }
    return jobDir;
}
/** daemon.json (registry settings), the certs.d directory main fills, and the TLS files of a TCP daemon. */
async function writeDaemonFiles(inputs, jobDir, name) {
    const daemonConfig = withNetwork(daemonConfigFor(inputs), networkDaemonJson(inputs.network));
    if (daemonConfig)
        await (0,promises_namespaceObject.writeFile)((0,external_node_path_.join)(jobDir, 'daemon.json'), `${JSON.stringify(daemonConfig, null, 2)}\n`, { mode: 0o644 });
    const certsDir = inputs.registry.certs.length > 0;
    if (certsDir)
        await (0,promises_namespaceObject.mkdir)((0,external_node_path_.join)(jobDir, 'certs.d'), { mode: 0o755 });
    if (inputs.dind.tcp) {
        await writeTls((0,external_node_path_.join)(jobDir, 'tls'), generateTls({ serverNames: ['127.0.0.1', '::1', 'localhost', 'docker', name] }));
    }
    return { configFile: daemonConfig !== undefined, certsDir };
}
const withNetwork = (config, network) => Object.keys(network).length ? { ...config, ...network } : config;
/** Tries the plans in order until the engine accepts one; says which privileges the daemon got when it matters. */
async function startFirstAccepted(engine, planInput, state, log, volume) {
    const { dind } = planInput.inputs;
    const plans = planDind(planInput);
    const failures = [];
    let restore = volume.beforeStart;
    const { seed } = volume;
    for (const plan of plans) {
        let id;
        try {
            id = await engine.createContainer(seed ? { ...plan.spec, Env: [...(plan.spec.Env ?? []), ...seed.env] } : plan.spec);
            state.update({ containerId: id, containerName: plan.spec.name, privilege: plan.strategy, gated: plan.gated || undefined, startRequestedAt: Date.now() });
            if (restore) {
                const usable = await restore(engine, id);
                restore = undefined; // the volume outlives a refused start: later attempts reuse it
                if (!usable)
                    id = await replaceVolume(engine, id, plan.spec, planInput.labels, state);
            }
            await engine.startContainer(id);
        }
        catch (e) {
            failures.push(e.message);
            if (id) {
                await engine.removeContainer(id).catch(() => undefined);
                state.update({ containerId: undefined, privilege: undefined, gated: undefined });
            }
            continue;
        }
        learn(planInput.remembered, plans, plan.strategy, failures);
        reportGrant(plan.strategy, plans, failures, planInput, state, log);
        // The init script unpacks before dockerd; a container that ended instead (it could not see the FIFO) is replaced by a cold one.
        if (seed && !(await seed.started({ engine, id })))
            await engine.startContainer(await replaceVolume(engine, id, plan.spec, planInput.labels, state));
        return;
    }
    await seed?.abandon();
    planInput.remembered?.forget();
    const remembered = planInput.remembered?.refusal;
    const tried = [...(remembered ? [`privileged: ${rememberedNote(remembered)}`] : []), ...plans.map((p, i) => `${p.strategy}: ${failures[i] ?? 'not tried'}`)].join('; ');
    throw new Error(`Could not start the dind container (${tried}). ` +
        (dind.runtime
            ? `Check that the engine has the runtime "${dind.runtime}" (docker info lists runtimes).`
            : 'Use a runner whose engine allows privileged containers, set runtime: sysbox-runc where Sysbox is installed, or use mode: socket.'));
}
/** What the engine's answers teach the next job on it: --privileged refused (and something else accepted), or not. */
function learn(memory, plans, accepted, failures) {
    if (!memory)
        return;
    if (accepted === 'privileged')
        memory.forget();
    else if (plans[0]?.strategy === 'privileged' && failures[0] !== undefined)
        memory.remember(failures[0]);
    // The remembered answer chose a plan the engine refused: it no longer describes this engine.
    else if (memory.refusal && failures.length)
        memory.forget();
}
/** Records exactly what the daemon's container was granted; warns when a fallback was taken or the grant is near root. */
function reportGrant(strategy, plans, failures, planInput, state, log) {
    const grant = describeGrant(strategy, planInput.inputs, planInput.withheld);
    state.update({ privilegeGrant: grant });
    const remembered = planInput.remembered?.refusal;
    const refused = [...(remembered ? ['privileged'] : []), ...plans.slice(0, failures.length).map((p) => p.strategy)];
    const why = refused.length
        ? `The engine refused ${refused.join(' and ')} (${failures.at(-1) ?? rememberedNote(remembered)})`
        : '';
    if (strategy === 'explicit-capabilities') {
        log.warning(`${why}. THE DAEMON'S CONTAINER RUNS WITH EVERY CAPABILITY EXCEPT ${dropped(planInput.withheld).join(', ') || 'NONE'}: granted ${grant}. ` +
            `Set privileged: false to grant only ${NESTED_DOCKERD_CAPABILITIES.join(', ')} on top of Docker's defaults (the job fails clearly if that is not enough).`);
    }
    else if (why) {
        log.warning(`${why}; the daemon's container runs with ${grant}.`);
    }
}
/** A partial restore: the container and its volume are replaced by a new container on an empty volume. */
async function replaceVolume(engine, id, spec, labels, state) {
    const volume = objectName(state.value.session);
    await engine.removeContainer(id);
    await engine.removeVolume(volume);
    await engine.createVolume(volume, labels);
    const replaced = await engine.createContainer(spec);
    state.update({ containerId: replaced, startRequestedAt: Date.now() });
    return replaced;
}

;// CONCATENATED MODULE: ./src/daemon/existing.ts
// socket and external modes: the daemon is not ours. The action finds it, waits for it and exports it; it creates
// nothing, so post has nothing of ours to remove and touches nothing anyone else made.


/**
 * The endpoint, waiting (within wait-timeout) for TLS files that are not there yet: a docker:dind service writes its
 * client certificates only once it has started, so the job may look for them before they exist.
 */
async function endpointWhenTlsFilesExist(engine, waitTimeoutMs, clock) {
    const deadline = clock.now() + waitTimeoutMs;
    for (;;) {
        try {
            return checkedEndpoint(engine);
        }
        catch (e) {
            if (!(e instanceof TlsFilesMissingError))
                throw e;
            if (clock.now() >= deadline)
                throw new Error(`${e.message} (waited ${(waitTimeoutMs / 1000).toFixed(1)} s for them to appear)`);
            await clock.sleep(200);
        }
    }
}
/**
 * `locate` gives the engine the phase located (socket: the runner's own daemon, found like the docker CLI finds it;
 * external: docker-host, which inputs.ts makes sure is given).
 */
function existingDaemon(inputs, locate, state, clock = realClock) {
    return {
        async start() {
            const engine = locate();
            try {
                state.update({ endpoint: saveEndpoint(checkedEndpoint(engine)) });
            }
            catch (e) {
                if (!(e instanceof TlsFilesMissingError))
                    throw e;
                // TLS files may appear later (see above): the address is what post needs.
                state.update({ endpoint: { host: formatAddress(engine.endpoint.address) } });
            }
        },
        async attach() {
            const endpoint = await endpointWhenTlsFilesExist(locate(), inputs.waitTimeoutMs, clock);
            return { endpoint, outputs: {}, facts: { Daemon: inputs.mode === 'socket' ? "the runner's own daemon" : 'an external daemon' } };
        },
    };
}

;// CONCATENATED MODULE: ./src/cleanup/cleanup.ts
// Post's removal of what this job created: only objects that carry this session's label, plus the per-job
// directory. Idempotent (post may run twice) and never fatal: each problem becomes a warning.









/** Runs removals side by side; each outcome is reported through `attempt`, in the order they are listed. */
async function together(removals, attempt) {
    const outcomes = removals.map(([, fn]) => fn().then(() => undefined, (e) => e));
    await Promise.all(outcomes);
    for (const [i, [what]] of removals.entries()) {
        const outcome = await outcomes[i];
        await attempt(what, async () => {
            if (outcome !== undefined)
                throw outcome;
        });
    }
}
/**
 * Containers first, removed at once (a running one is killed: nothing of a job's daemon is kept unless the cache
 * saved it before), then their volumes, their networks and anything `alongside` (the per-job directory), together.
 */
async function removeObjects(engine, found, attempt, alongside = []) {
    await together(found.containers.map((c) => [`container ${c.name}`, () => engine.removeContainer(c.id)]), attempt);
    await together([
        ...found.volumes.map((v) => [`volume ${v.name}`, () => engine.removeVolume(v.name)]),
        ...found.networks.map((n) => [`network ${n.name}`, () => engine.removeNetwork(n.id)]),
        ...alongside,
    ], attempt);
}
/**
 * The job's background processes: a run check still waiting for the daemon (main never came), and the port forwarder
 * (it follows the daemon and logs into the job directory). Post stops them first: a stopping dockerd (23 and later)
 * waits up to 5 s for the forwarder's open event stream before it exits, which a data-root save's clean stop pays.
 */
async function stopBackground(state, log) {
    const report = { removed: [], warnings: [] };
    if (state.runCheck && state.runCheck.pid !== state.forwarder?.pid)
        await stopRunCheck(state.runCheck).catch(() => false);
    const forwarder = state.forwarder;
    if (!forwarder)
        return report;
    try {
        for (const w of forwarderWarnings(forwarder))
            log.warning(`setup-dind port forwarding: ${w}`);
        if (await stopForwarder(forwarder))
            report.removed.push(`port forwarder (pid ${forwarder.pid})`);
    }
    catch (e) {
        const message = `Could not stop the port forwarder (pid ${forwarder.pid}): ${e.message}`;
        report.warnings.push(message);
        log.warning(message);
    }
    return report;
}
/** Removes what the session made; `background` is what stopBackground reported when the caller ran it already. */
async function cleanupSession(state, log, background) {
    const stopped = background ?? (await stopBackground(state, log));
    const report = { removed: [], warnings: [...stopped.warnings] };
    const attempt = async (what, fn) => {
        try {
            await fn();
            report.removed.push(what);
        }
        catch (e) {
            const message = `Could not remove ${what}: ${e.message}`;
            report.warnings.push(message);
            log.warning(message);
        }
    };
    // The directory goes after the container that mounts it (a live dockerd could still write into it).
    const dir = state.jobDir;
    const alongside = dir && (0,external_node_fs_.existsSync)(dir) ? [[`directory ${dir}`, () => (0,promises_namespaceObject.rm)(dir, { recursive: true, force: true })]] : [];
    if (state.outer) {
        const engine = new EngineClient(loadEndpoint(state.outer));
        const label = `${LABEL_SESSION}=${state.session}`;
        let found;
        try {
            found = await engine.listLabelled(label);
        }
        catch (e) {
            const message = `Could not list this job's containers on ${engine.description}: ${e.message}`;
            report.warnings.push(message);
            log.warning(message);
            found = { containers: [], volumes: [], networks: [] };
        }
        // What state names but the engine no longer lists is already gone; what the engine lists with our label but
        // state lost (a crash between create and save) is ours all the same.
        await removeObjects(engine, found, attempt, alongside);
    }
    else {
        await together(alongside, attempt);
    }
    // The forwarder went first, but is named last; its port block is free once it is gone.
    report.removed.push(...stopped.removed);
    if (state.ports && releaseBlock(state.ports, state.session))
        report.removed.push(`host ports ${state.ports.start}-${state.ports.end}`);
    return report;
}
/**
 * Removes what crashed earlier jobs left on a shared engine (self-hosted runners): objects of OTHER setup-dind
 * sessions whose creation label is older than `olderThanMs`. Only when asked (input cleanup-stale); never touches
 * the current session, objects without our labels, or anything newer than the threshold.
 */
async function reapStale(engine, olderThanMs, currentSession, log, now = Date.now(), endHelpers = endStaleHelpers) {
    const found = await engine.listLabelled(LABEL_SESSION);
    const stale = (labels) => {
        if (labels[LABEL_SESSION] === currentSession)
            return false;
        const created = Date.parse(labels[LABEL_CREATED] ?? '');
        return Number.isFinite(created) && now - created > olderThanMs;
    };
    const removed = [];
    const attempt = async (what, fn) => {
        try {
            await fn();
            removed.push(what);
        }
        catch (e) {
            log.warning(`cleanup-stale: could not remove ${what}: ${e.message}`);
        }
    };
    await removeObjects(engine, {
        containers: found.containers.filter((c) => stale(c.labels)),
        volumes: found.volumes.filter((v) => stale(v.labels)),
        networks: found.networks.filter((n) => stale(n.labels)),
    }, attempt);
    // On this host, the reaped sessions' background processes (a forwarder of a job whose post never ran) end too.
    const sessions = new Set([...found.containers, ...found.volumes, ...found.networks].filter((o) => stale(o.labels)).map((o) => o.labels[LABEL_SESSION]));
    removed.push(...(await endHelpers(sessions, log).catch((e) => (log.warning(`cleanup-stale: ${e.message}`), []))));
    return removed;
}

;// CONCATENATED MODULE: ./src/builder/settings.ts

/** The image the docker-container driver runs BuildKit from (docker buildx create's own default). */
const DEFAULT_BUILDX_IMAGE = 'moby/buildkit:buildx-stable-1';
const IMAGE = /^[a-zA-Z0-9][a-zA-Z0-9._/:@-]*$/;
/** The builder settings; undefined when buildx is false. Problems go to `f.problems`. */
function parseBuilderSettings(f) {
    const enabled = f.boolean('buildx');
    const image = f.line('buildx-image');
    if (!f.reported('buildx-image') && (!IMAGE.test(image) || image.length > 255)) {
        f.problems.push(`input "buildx-image": ${showValue(image)} is not an image reference; use a name like ${DEFAULT_BUILDX_IMAGE} or registry.example:5000/buildkit:v0.23`);
    }
    if (!enabled) {
        if (!f.reported('buildx-image') && image !== f.defaultOf('buildx-image')) {
            f.problems.push(`input "buildx-image": ${showValue(image)} has no effect while buildx is false; set buildx: true, or remove it`);
        }
        return undefined;
    }
    return { image };
}

;// CONCATENATED MODULE: ./src/cache/settings.ts

const MAX_CACHE_KEEP = 100;
/** cache-keep: a number of entries (1 to 100), or `all` (never delete); undefined means all. */
function parseCacheKeep(f) {
    const text = f.line('cache-keep');
    if (f.reported('cache-keep'))
        return undefined;
    if (text.toLowerCase() === 'all')
        return undefined;
    if (/^\d{1,3}$/.test(text) && Number(text) >= 1 && Number(text) <= MAX_CACHE_KEEP)
        return Number(text);
    f.problems.push(`input "cache-keep": ${showValue(text)} is not a number of entries; use 1 to ${MAX_CACHE_KEEP} (the newest entries of the key prefix on this ref that stay) or all (delete none)`);
    return undefined;
}
const CACHE_STRATEGIES = ['false', 'images', 'data-root'];
const CACHE_SAVE = ['on-success', 'on-change', 'always', 'never'];
/** "500M", "2G", "1.5GiB", "1073741824": bytes, or undefined when it is not a size. */
function parseSize(text) {
    const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)$/i.exec(text.trim());
    if (!m)
        return undefined;
    const power = { '': 0, k: 1, m: 2, g: 3, t: 4 }[m[2].toLowerCase()];
    const bytes = Math.round(Number(m[1]) * 1024 ** power);
    return Number.isFinite(bytes) && bytes > 0 ? bytes : undefined;
}
const IMAGE_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.:/@*?-]*$|^[*?][a-zA-Z0-9_.:/@*?-]*$/;
/** The cache inputs; undefined when cache is false. Problems go to `f.problems`. */
function parseCacheSettings(f, mode) {
    const problems = f.problems;
    const strategy = f.oneOf('cache', CACHE_STRATEGIES);
    const save = f.oneOf('cache-save', CACHE_SAVE);
    const key = f.line('cache-key') || undefined;
    const keyProblem = (name, k) => {
        if (k.length > 512)
            problems.push(`input "${name}": ${showValue(k)} is longer than 512 characters; use a shorter key`);
        if (k.includes(','))
            problems.push(`input "${name}": ${showValue(k)} contains a comma, which cache keys cannot; remove it`);
    };
    if (key)
        keyProblem('cache-key', key);
    const restoreKeys = f.raw('cache-restore-keys').split('\n').map((k) => k.trim()).filter(Boolean);
    for (const k of restoreKeys)
        keyProblem('cache-restore-keys', k);
    const images = f.raw('cache-images').split(/[\n,]/).map((k) => k.trim()).filter(Boolean);
    for (const pattern of images) {
        if (!IMAGE_PATTERN.test(pattern))
            problems.push(`input "cache-images": ${showValue(pattern)} is not an image name or pattern; use names like busybox:1, myorg/* or *:latest`);
    }
    const sizeText = f.line('cache-max-size');
    const maxBytes = sizeText ? parseSize(sizeText) : undefined;
    if (sizeText && maxBytes === undefined)
        problems.push(`input "cache-max-size": ${showValue(sizeText)} is not a size; use bytes or a number with K, M, G (like 2G or 500MiB)`);
    const dir = f.line('cache-dir') || undefined;
    if (dir?.split(/[\\/]/).includes('..') && !dir.startsWith('/'))
        problems.push(`input "cache-dir": ${showValue(dir)} leaves the workspace; use a directory inside the project (GitLab caches only those) or an absolute path`);
    const volumes = f.boolean('cache-volumes');
    const buildText = f.line('cache-build-size');
    const buildCacheBytes = /^0+$/.test(buildText) ? 0 : parseSize(buildText);
    if (buildCacheBytes === undefined)
        problems.push(`input "cache-build-size": ${showValue(buildText)} is not a size; use 0 (keep no build cache), bytes or a number with K, M, G (like 1G or 500MiB)`);
    const buildChanged = buildText !== f.defaultOf('cache-build-size');
    if (buildChanged && strategy === 'images')
        problems.push(`input "cache-build-size": ${showValue(buildText)} sets the build cache a data-root snapshot keeps, but cache is images (which saves images only); set cache: data-root, or remove it`);
    if (volumes && strategy === 'images')
        problems.push(`input "cache-volumes": true keeps the daemon's volumes in a data-root snapshot, but cache is images; set cache: data-root, or remove it`);
    if (strategy === 'data-root' && mode !== 'dind')
        problems.push(`input "cache": "data-root" snapshots the job's own daemon and needs mode dind, but mode is ${mode}; use cache: images`);
    if (strategy === 'false') {
        const unused = [['cache-key', key ?? ''], ['cache-restore-keys', restoreKeys.join(' ')], ['cache-images', images.join(' ')], ['cache-max-size', sizeText], ['cache-dir', dir ?? ''], ['cache-volumes', volumes ? 'true' : ''], ['cache-build-size', buildChanged ? buildText : ''], ['cache-keep', f.line('cache-keep') === f.defaultOf('cache-keep') ? '' : f.line('cache-keep')]];
        for (const [name, value] of unused)
            if (value)
                problems.push(`input "${name}": ${showValue(value)} has no effect while cache is false; set cache: images or data-root, or remove it`);
        return undefined;
    }
    const keep = parseCacheKeep(f);
    return { strategy, key, restoreKeys: restoreKeys.length ? restoreKeys : undefined, images, save, maxBytes, dir, keep, ...(volumes ? { volumes } : {}), ...(strategy === 'data-root' ? { buildCacheBytes } : {}) };
}

;// CONCATENATED MODULE: ./src/dockercli/settings.ts

/**
 * true: the job's steps get the dind image's docker CLI and plugins. Only dind has an image to take them from: in
 * socket and external mode the input is refused (the job keeps the runner's CLI, which is what it asked for there).
 */
function parseClientSetting(f, mode) {
    const enabled = f.boolean('client') ?? false;
    if (enabled && mode !== 'dind') {
        f.problems.push(`input "client": ${showValue(f.line('client'))} copies the docker CLI out of the dind image, and mode ${mode} runs no dind image; remove it (the job uses the runner's docker CLI) or use mode dind`);
    }
    return enabled;
}

;// CONCATENATED MODULE: ./src/fields.ts
// Reading raw text inputs while collecting problems: the small toolkit every capability's input parser uses
// (inputs.ts composes them). Generic over the input names, so a parser names only its own inputs and no folder has
// to import inputs.ts. Each input gets one clear problem: later checks of an input already reported stay quiet.

function parseBoolean(value) {
    const v = value.trim().toLowerCase();
    if (['true', 'yes', '1', 'on'].includes(v))
        return true;
    if (['false', 'no', '0', 'off', ''].includes(v))
        return false;
    return undefined;
}
function fieldsOf(read, defaults) {
    const problems = [];
    const reported = new Set();
    const fields = {
        problems,
        raw(name) {
            const value = read(name);
            if (value.includes('\0')) {
                problems.push(`input "${name}": ${showValue(value)} contains a NUL character; remove it`);
                return '';
            }
            return value;
        },
        line(name) {
            const value = fields.raw(name).trim();
            if (/[\r\n]/.test(value)) {
                problems.push(`input "${name}": ${showValue(value)} must be a single line; put the value on one line`);
                reported.add(name);
                return defaults[name];
            }
            return value;
        },
        oneOf(name, allowed) {
            const value = fields.line(name).toLowerCase();
            if (reported.has(name))
                return allowed[0];
            if (allowed.includes(value))
                return value;
            problems.push(`input "${name}": ${showValue(value)} is not allowed; use one of ${allowed.join(', ')}`);
            return allowed[0];
        },
        boolean(name) {
            const text = fields.line(name);
            const value = parseBoolean(text);
            if (value === undefined && !reported.has(name))
                problems.push(`input "${name}": ${showValue(text)} is not a boolean; use true or false`);
            return value;
        },
        reported: (name) => reported.has(name),
        defaultOf: (name) => defaults[name],
    };
    return fields;
}

;// CONCATENATED MODULE: ./src/image/settings.ts
// Inputs for the dind image's supply: a mirror to pull it through, and explicit credentials for its registry.

const MIRROR = /^(https?:\/\/)?(?=[^/:]{1,253}(?::|\/|$))[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::\d{1,5})?\/?$/;
function parseImageSupply(raw, mode) {
    const problems = [];
    const mirrorText = raw['image-mirror'].trim();
    const username = raw['image-username'].trim();
    const password = raw['image-password'];
    if (mirrorText && !MIRROR.test(mirrorText)) {
        problems.push(`input "image-mirror": ${showValue(mirrorText)} is not a registry mirror; use its URL or host, like https://mirror.gcr.io or registry.example.com:5000`);
    }
    if (Boolean(username) !== Boolean(password)) {
        problems.push(`input "${username ? 'image-password' : 'image-username'}": ${showValue('')} is empty, but ${username ? 'image-username' : 'image-password'} is set; give both (the password from a secret), or neither`);
    }
    if (mode !== 'dind') {
        for (const [name, value] of [['image-mirror', mirrorText], ['image-username', username], ['image-password', password]]) {
            if (value)
                problems.push(`input "${name}": applies only to mode dind (the image of the daemon the action starts), but mode is ${mode}; remove it or use mode dind`);
        }
    }
    const mirror = mirrorText && !/^https?:\/\//.test(mirrorText) ? `https://${mirrorText}` : mirrorText;
    return { settings: { ...(mirror ? { mirror: mirror.replace(/\/$/, '') } : {}), ...(username && password ? { credentials: { username, password } } : {}) }, problems };
}

;// CONCATENATED MODULE: ./src/daemon/settings.ts
const MODES = ['dind', 'socket', 'external'];
const PRIVILEGED = ['auto', 'true', 'false'];
/**
 * The dind image used when none is given: the official image pinned by tag and digest (a tag moves; a digest is the
 * exact image every job gets until the action is updated). Its daemon accepts old clients: daemon/api-version.ts.
 */
const DEFAULT_DIND_IMAGE = 'docker:29.1.3-dind@sha256:173f284a4299164772a90f52b373e73e087583c0963f1334c9995f190ef6f3f5';

;// CONCATENATED MODULE: ./src/inputs/inputs.ts
// Every input of the action: its default, how it is parsed and validated. All problems are reported together,
// and nothing is started while any input is invalid.

















const MAX_WAIT_SECONDS = 3600;
/** Defaults, as in action.yml (a test keeps the two equal). */
const INPUT_DEFAULTS = {
    mode: 'dind',
    'docker-host': '',
    'tls-cert-path': '',
    'wait-timeout': '60',
    'set-host': 'true',
    image: DEFAULT_DIND_IMAGE,
    'image-mirror': '',
    'image-username': '',
    'image-password': '',
    privileged: 'auto',
    rootless: 'false',
    runtime: '',
    tcp: 'false',
    network: '',
    'daemon-args': '',
    'default-address-pools': '',
    bip: '',
    'registry-mirrors': '',
    'insecure-registries': '',
    'registry-certs': '',
    'daemon-config': '',
    'configure-host': 'false',
    'cleanup-stale': '',
    cache: 'false',
    'cache-key': '',
    'cache-restore-keys': '',
    'cache-images': '',
    'cache-save': 'on-success',
    'cache-max-size': '',
    'cache-dir': '',
    ...INTEGRATION_DEFAULTS,
    'cache-keep': '1',
    'cache-volumes': 'false',
    'cache-build-size': '1G',
    buildx: 'false',
    'buildx-image': DEFAULT_BUILDX_IMAGE,
    client: 'false',
    token: '${{ github.token }}',
    'job-status': '${{ job.status }}',
    matrix: '${{ toJSON(matrix) }}',
};
/** "90s", "30m", "6h", "2d": milliseconds, or undefined when it is not a duration. */
function parseDuration(text) {
    const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/i.exec(text.trim());
    if (!m)
        return undefined;
    const ms = Number(m[1]) * { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[m[2].toLowerCase()];
    return ms > 0 && ms <= 366 * 86400e3 ? ms : undefined;
}
class InputError extends Error {
    problems;
    constructor(problems) {
        super(`${problems.length === 1 ? 'An input is' : `${problems.length} inputs are`} invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
        this.problems = problems;
        this.name = 'InputError';
    }
}
const IMAGE_REF = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::[0-9]{1,5})?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;
const OBJECT_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
/**
 * Splits an argument list written one per line or separated by spaces, with '…' and "…" quoting and no expansion
 * of any kind: the words become an argv array, never a shell string.
 */
function splitArguments(text) {
    const args = [];
    let current = '';
    let inWord = false;
    let quote = null;
    for (const ch of text) {
        if (quote) {
            if (ch === quote)
                quote = null;
            else
                current += ch;
            continue;
        }
        if (ch === '"' || ch === "'") {
            quote = ch;
            inWord = true;
        }
        else if (/\s/.test(ch)) {
            if (inWord)
                args.push(current);
            current = '';
            inWord = false;
        }
        else {
            current += ch;
            inWord = true;
        }
    }
    if (quote)
        throw new Error(`has an unclosed ${quote} quote`);
    if (inWord)
        args.push(current);
    return args;
}
function parseInputs(read, context = { workspace: process.cwd() }) {
    const f = fieldsOf(read, INPUT_DEFAULTS);
    const mode = f.oneOf('mode', MODES);
    const { dockerHost, tlsCertPath } = parseDaemonTarget(f, mode);
    const waitTimeoutMs = parseWaitTimeout(f);
    const setHost = parseSetHost(f);
    const dind = parseDindSettings(f, mode);
    const registry = parseRegistry(f, context.workspace);
    const configureHost = f.boolean('configure-host');
    if (configureHost && mode !== 'socket')
        f.problems.push(`input "configure-host": changes the runner's own daemon and applies only to mode socket, but mode is ${mode}; remove it`);
    if (registry)
        f.problems.push(...registryModeProblems(registry, { mode, configureHost: configureHost ?? false, daemonArgs: dind.daemonArgs }));
    const imageSupply = parseImageInputs(f, mode);
    const network = parseNetwork(f, mode, registry?.daemonConfig ?? {}, dind.daemonArgs);
    const cache = parseCacheSettings(f, mode);
    if (dind.rootless && cache?.strategy === 'data-root') {
        f.problems.push(`input "cache": "data-root" snapshots a root daemon's /var/lib/docker, and image ${showValue(dind.image)} runs rootless; use cache: images, or the root dind image`);
    }
    const builder = parseBuilderSettings(f);
    const client = parseClientSetting(f, mode);
    const cleanupStaleMs = parseCleanupStale(f, mode);
    const { settings: integration, problems: integrationProblems } = parseIntegration((name) => f.raw(name), {
        mode, daemonArgs: dind.daemonArgs, daemonConfig: registry?.daemonConfig ?? {},
    });
    f.problems.push(...integrationProblems);
    const statusText = f.line('job-status').toLowerCase();
    const jobStatus = statusText === 'success' || statusText === 'failure' || statusText === 'cancelled' ? statusText : 'unknown';
    if (f.problems.length)
        throw new InputError(f.problems);
    return {
        mode,
        dockerHost,
        tlsCertPath,
        waitTimeoutMs,
        setHost,
        dind,
        registry: registry,
        network,
        imageSupply,
        configureHost: configureHost ?? false,
        cache,
        builder,
        client,
        cleanupStaleMs,
        integration,
        jobStatus,
    };
}
/** docker-host and tls-cert-path: the daemon the job uses (socket, external) or the engine that runs dind. */
function parseDaemonTarget(f, mode) {
    let dockerHost;
    const hostText = f.line('docker-host');
    if (hostText && !f.reported('docker-host')) {
        try {
            dockerHost = parseDockerHost(hostText);
        }
        catch (e) {
            f.problems.push(`input "docker-host": ${e.message}`);
        }
    }
    else if (mode === 'external') {
        f.problems.push('input "docker-host": is required with mode external; give the daemon\'s address, like unix:///run/docker/docker.sock or tcp://docker:2376');
    }
    const tlsText = f.line('tls-cert-path');
    // Whether the directory holds the files is checked where it is used: in pre, the workspace is not checked out yet.
    if (tlsText && dockerHost?.kind === 'unix') {
        f.problems.push(`input "tls-cert-path": TLS applies to tcp:// addresses, but docker-host is ${showValue(hostText)}; remove tls-cert-path or use a tcp:// docker-host`);
    }
    return { dockerHost, tlsCertPath: tlsText || undefined };
}
/** Empty means the default (true), not false: the docker CLI still has to find the daemon. */
function parseSetHost(f) {
    const text = f.line('set-host');
    if (text === '' || f.reported('set-host'))
        return true;
    const value = parseBoolean(text);
    if (value === undefined)
        f.problems.push(`input "set-host": ${showValue(text)} is not a boolean; use true (export DOCKER_HOST) or false (only the docker context "setup-dind")`);
    return value ?? true;
}
function parseWaitTimeout(f) {
    const text = f.line('wait-timeout');
    const wait = Number(text);
    if (f.reported('wait-timeout'))
        return Number(INPUT_DEFAULTS['wait-timeout']) * 1000;
    if (text === '' || !Number.isFinite(wait) || wait <= 0 || wait > MAX_WAIT_SECONDS) {
        f.problems.push(`input "wait-timeout": ${showValue(text)} is not a number of seconds between 0 and ${MAX_WAIT_SECONDS}; use for example 60`);
        return Number(INPUT_DEFAULTS['wait-timeout']) * 1000;
    }
    return Math.round(wait * 1000);
}
/** The dind container's settings; in the other modes they must keep their defaults (ignoring them would hide a mistake). */
function parseDindSettings(f, mode) {
    const image = f.line('image');
    const privileged = f.oneOf('privileged', PRIVILEGED);
    const runtime = f.line('runtime') || undefined;
    const tcp = f.boolean('tcp');
    const rootless = (f.boolean('rootless') ?? false) || (mode === 'dind' && isRootlessImage(image));
    const network = f.line('network') || undefined;
    let daemonArgs = [];
    try {
        daemonArgs = splitArguments(f.raw('daemon-args'));
    }
    catch (e) {
        f.problems.push(`input "daemon-args": ${showValue(f.raw('daemon-args'))} ${e.message}; close it or remove the quote`);
    }
    // A rootless daemon's socket is its user's, in a user namespace: the runner reaches it over TCP with TLS.
    const settings = { image, privileged, runtime, tcp: (tcp ?? false) || rootless, network, daemonArgs, rootless };
    if (mode === 'dind') {
        f.problems.push(...dindProblems(settings, f));
    }
    else {
        const dindOnly = [
            ['image', image], ['privileged', privileged], ['runtime', runtime ?? ''], ['tcp', tcp ? 'true' : 'false'],
            ['network', network ?? ''], ['daemon-args', daemonArgs.join(' ')], ['rootless', rootless ? 'true' : 'false'],
        ];
        for (const [name, value] of dindOnly) {
            if (value !== INPUT_DEFAULTS[name])
                f.problems.push(`input "${name}": ${showValue(value)} applies only to mode dind, but mode is ${mode}; remove it or use mode dind`);
        }
    }
    return settings;
}
function dindProblems({ image, privileged, runtime, network, daemonArgs, rootless }, f) {
    const problems = [];
    if (image.length > 255 && !f.reported('image'))
        problems.push(`input "image": ${showValue(image)} is longer than the 255 characters an image reference may have; use the image's real name`);
    else if (!IMAGE_REF.test(image) && !f.reported('image'))
        problems.push(`input "image": ${showValue(image)} is not an image reference; use something like docker:29-dind or registry.example.com:5000/team/dind:1`);
    if (runtime && !OBJECT_NAME.test(runtime))
        problems.push(`input "runtime": ${showValue(runtime)} is not a runtime name; use a name like sysbox-runc`);
    if (runtime && privileged === 'true')
        problems.push(`input "runtime": ${showValue(runtime)} runs the daemon unprivileged, but privileged is "true"; set privileged to auto or false, or remove runtime`);
    if (network && !OBJECT_NAME.test(network))
        problems.push(`input "network": ${showValue(network)} is not a docker network name (letters, digits, _ . -, at most 128); use a name like ci-net`);
    problems.push(...parseDaemonArgs(daemonArgs).problems);
    if (rootless && f.raw('registry-certs').trim()) {
        problems.push(`input "registry-certs": a rootless daemon reads its certificates from its user's own config directory, which the action does not fill yet (image ${showValue(image)} runs rootless); use the root dind image with registry-certs, or insecure-registries`);
    }
    return problems;
}
/** The registry inputs through registry/settings.ts; undefined when their syntax has problems (reported). */
function parseRegistry(f, workspace) {
    const { settings, problems } = parseRegistrySettings({
        'registry-mirrors': f.raw('registry-mirrors'),
        'insecure-registries': f.raw('insecure-registries'),
        'registry-certs': f.raw('registry-certs'),
        'daemon-config': f.raw('daemon-config'),
    }, { baseDir: workspace });
    f.problems.push(...problems);
    return problems.length ? undefined : settings;
}
function parseImageInputs(f, mode) {
    const { settings, problems } = parseImageSupply({ 'image-mirror': f.line('image-mirror'), 'image-username': f.line('image-username'), 'image-password': f.raw('image-password') }, mode);
    // A multi-line user name is reported once (as such), not again as missing.
    f.problems.push(...problems.filter((p) => !(f.reported('image-username') && p.startsWith('input "image-username"'))));
    return settings;
}
/** default-address-pools and bip through network/settings.ts, with what they mean for the mode and other inputs. */
function parseNetwork(f, mode, daemonConfig, daemonArgs) {
    const { settings, problems } = parseNetworkSettings({ 'default-address-pools': f.raw('default-address-pools'), bip: f.line('bip') });
    f.problems.push(...problems);
    if (!problems.length)
        f.problems.push(...networkProblems(settings, { mode, daemonConfig, daemonArgs }));
    return settings;
}
function parseCleanupStale(f, mode) {
    const text = f.line('cleanup-stale');
    const ms = text ? parseDuration(text) : undefined;
    if (text && ms === undefined)
        f.problems.push(`input "cleanup-stale": ${showValue(text)} is not an age; use a number with s, m, h or d (like 6h) up to 366d, or leave it empty`);
    if (text && mode === 'external')
        f.problems.push(`input "cleanup-stale": reaps leftovers on the runner's engine, which mode external does not use; remove it`);
    return ms;
}

;// CONCATENATED MODULE: ./src/daemon/wait.ts

const LOG_TAIL_LINES = 60;
/** dind: the longest pause between two readiness probes, and between two checks that the daemon's container still runs. */
const LOCAL_POLL_MS = 50;
const GIVE_UP_CHECK_MS = 500;
/** Waits until the daemon answers; when it will not, the error carries the last lines of its log (all of them in a group). */
async function waitForDaemon(inputs, daemon, client, target, wait, platform, clock) {
    let info;
    // One call per probe, and its answer is also the daemon's info: nothing more to ask once it is ready.
    const probe = async (ms) => {
        const answer = await client.probe(ms);
        info = answer.info;
        return answer;
    };
    // A daemon this job started boots on this machine: poll its socket often (a failed connect costs nothing), and ask
    // the engine whether its container died at most twice a second.
    const local = inputs.mode === 'dind';
    let lastGiveUp = -Infinity;
    const giveUp = daemon.giveUp && (async () => {
        if (local && clock.now() - lastGiveUp < GIVE_UP_CHECK_MS)
            return undefined;
        lastGiveUp = clock.now();
        return daemon.giveUp();
    });
    try {
        const ready = await waitUntilReady({ target, ...wait, probe, giveUp, clock, ...(local ? { maxDelayMs: LOCAL_POLL_MS } : {}) });
        return { ready, info: info ?? (await client.info()) };
    }
    catch (e) {
        if (!(e instanceof NotReadyError) || !daemon.logTail)
            throw e;
        const tail = await daemon.logTail(LOG_TAIL_LINES).catch((err) => `(its log could not be read: ${err.message})`);
        await platform.group('Daemon log (last lines)', async () => platform.log.info(tail));
        throw new Error(`${e.message}\nLast lines of the daemon's log:\n${lastLines(tail, 12)}`);
    }
}
function lastLines(text, n) {
    return text.trimEnd().split('\n').slice(-n).map((l) => `  ${l}`).join('\n');
}

;// CONCATENATED MODULE: ./src/cache/prune.ts

async function pruneAfterSave(record, platform) {
    const keep = record.settings.keep;
    if (record.dir || keep === undefined)
        return;
    const inventory = platform.cacheInventory?.();
    if (!inventory) {
        platform.log.info('setup-dind cache: older entries are not removed here (no cache API or no token).');
        return;
    }
    try {
        const report = await pruneOlderEntries(inventory, record, keep, platform.log);
        platform.log.info(`setup-dind cache: ${report.message}.`);
        if (report.summary)
            await platform.appendSummary(report.summary);
    }
    catch (e) {
        platform.log.warning(`setup-dind cache: removing older entries failed (${e.message}); the job is not affected.`);
    }
}

;// CONCATENATED MODULE: ./src/cache/build-cache.ts

/** Build cache a data-root snapshot keeps at most by default (cache-build-size: 1G). */
const SNAPSHOT_BUILD_CACHE_BYTES = 1024 ** 3;
/**
 * Before a data-root snapshot: every container goes (a restored daemon would restart the last job's containers), and
 * unused networks, dangling images and the least recently used build cache beyond `keepBytes`. Says what it kept.
 */
async function pruneForSnapshot(daemon, keepBytes, log) {
    for (const id of await daemon.listContainerIds())
        await daemon.removeContainer(id);
    const pruned = await daemon.pruneUnused(keepBytes);
    const kept = keepBytes > 0 ? `keeps up to ${cache_mb(keepBytes)} of build cache, the most recently used` : 'keeps no build cache';
    log.info(`setup-dind cache: the data-root snapshot ${kept} (cache-build-size)${pruned > 0 ? `; ${cache_mb(pruned)} beyond it was pruned` : ''}.`);
}

;// CONCATENATED MODULE: ./src/cache/image-store.ts
/** The platform a save names: the daemon's own on the containerd store; undefined on the classic store. */
async function savePlatform(daemon) {
    if ((await daemon.info()).imageStore !== 'containerd')
        return undefined;
    const v = await daemon.version();
    return { os: v.os, architecture: v.arch };
}
/** How main's line and the summary name the store: the snapshotter on the containerd store. */
const storageName = (info) => info.imageStore === 'containerd' ? `${info.storageDriver} snapshotter (containerd image store)` : info.storageDriver;

;// CONCATENATED MODULE: ./src/cache/store-mismatch.ts
/** Repositories in the classic store's repositories.json (a tar of that one file, as the archive API gives it). */
function classicRepositories(tar) {
    if (tar.length < 512)
        return 0;
    const size = parseInt(tar.subarray(124, 136).toString('latin1').replace(/\0/g, '').trim() || '0', 8);
    try {
        const json = JSON.parse(tar.subarray(512, 512 + size).toString('utf8'));
        return Object.keys(json.Repositories ?? {}).length;
    }
    catch {
        return 0;
    }
}
/** The warning for a restored data root whose images the daemon's store does not see; undefined when it sees them. */
function storeMismatch(r) {
    if (r.store === 'containerd' && r.classicRepositories > 0 && r.imagesListed === 0) {
        return `setup-dind cache: the restored data root holds images of the classic image store (${r.classicRepositories} repositories), but this daemon uses the containerd image store (${r.driver} snapshotter), which does not see them; the restore is kept as it is. Remove features.containerd-snapshotter from daemon-config (or daemon-args), or use a new cache-key so the containerd store saves an entry of its own.`;
    }
    return undefined;
}
/** Reads a small stream to its end. */
async function readSmall(stream) {
    if (!stream)
        return Buffer.alloc(0);
    const chunks = [];
    for await (const c of stream)
        chunks.push(c);
    return Buffer.concat(chunks);
}

;// CONCATENATED MODULE: ./src/cache/apply.ts










/** data-root: restores the newest entry into the daemon's volume before dockerd starts (pre). */
function restoreDataRoot(inputs, platform, state) {
    // The helper mounts the daemon's volume; the daemon's container stays created, not started.
    return async (engine, containerId) => {
        const started = startCache(inputs, platform);
        if (!started)
            return true;
        // The image the daemon's container runs (it may have come from the cache under another name).
        const image = (await engine.inspectContainer(containerId))?.image ?? inputs.dind.image;
        const place = snapshotPlace(engine, state.value, image, platform);
        return restoreRecorded(started, platform, state, (tar) => restoreDataRootSnapshot(place, tar));
    };
}
/** The cache's restore into the daemon's volume, its record saved in state; false when it failed part-way. */
async function restoreRecorded(started, platform, state, consume, waited) {
    const record = await restoreEntry(started.backend, started.record, consume, platform.log, cacheDeadlineMs(platform.env), waited);
    state.update({ cache: record });
    return !record.failed;
}
/** data-root through the daemon's own init script: the lookup starts now, the unpack when its container starts. */
function seedDataRoot(inputs, platform, state) {
    return async () => {
        const started = startCache(inputs, platform);
        if (!started)
            return undefined;
        const jobDir = state.value?.jobDir;
        if (!jobDir)
            throw new Error('the job directory is not recorded in state');
        const deadlineMs = cacheDeadlineMs(platform.env);
        // The init script waits for our word at most as long as the restore may take, and a minute more.
        return seedDaemon(jobDir, Math.ceil(deadlineMs / 1000) + 60, (consume, waited) => restoreRecorded(started, platform, state, consume, waited)).catch((e) => {
            // Like every cache failure: a warning and a cold daemon (post may still save).
            platform.log.warning(`setup-dind cache: the data-root restore could not be prepared (${e.message}); the daemon starts cold.`);
            state.update({ cache: { ...started.record, failed: true } });
            return undefined;
        });
    };
}
/** Where a data-root snapshot is taken or restored: the daemon's volume on the outer engine, through the job directory. */
function snapshotPlace(engine, s, image, platform) {
    if (!s.volume || !s.jobDir || !s.hostJobDir)
        throw new Error('the daemon\'s volume or job directory is not recorded in state');
    return { engine, image, volume: s.volume, jobDir: s.jobDir, hostJobDir: s.hostJobDir, labels: sessionLabels(s.session, platform.job) };
}
/**
 * main: images are loaded into the job's daemon now; data-root was restored in pre. Either way the ids of the
 * selected images are recorded, so post can tell whether anything changed.
 */
async function prepareImageCache(inputs, platform, state, daemon, probeGone) {
    if (!inputs.cache)
        return undefined;
    let record = state.value?.cache;
    if (!record) {
        const started = startCache(inputs, platform);
        if (!started)
            return undefined;
        record = started.record;
        if (inputs.cache.strategy === 'images') {
            record = await restoreEntry(started.backend, record, (tar) => daemon.loadImages(tar.stream()), platform.log, cacheDeadlineMs(platform.env));
        }
    }
    try {
        // While the probe's image is being loaded or removed it can be listed without its tag, as one of the job's images.
        await probeGone;
        record = { ...record, fingerprint: (await selectImages(daemon, record.settings.images)).ids };
    }
    catch (e) {
        platform.log.warning(`setup-dind cache: could not list the images (${e.message}); post will save regardless.`);
    }
    state.update({ cache: record });
    return record;
}
function cacheFact(record) {
    if (!record.restoredKey)
        return `${record.settings.strategy}: nothing restored (${record.backend})`;
    return `${record.settings.strategy}: ${record.hit === 'true' ? 'hit' : 'partial hit'} ${record.restoredKey}, ${cache_mb(record.restoredBytes ?? 0)} in ${(record.restoreSeconds ?? 0).toFixed(2)} s`;
}
/** post: saves the images when they changed; data-root stops the daemon cleanly first. Never throws. */
async function saveImageCache(record, s, platform, jobStatus) {
    const backend = backendFromRecord(record, platform);
    if (!backend)
        return 'not saved: no cache backend';
    try {
        const daemon = new EngineClient(loadEndpoint(s.endpoint));
        const current = await selectImages(daemon, record.settings.images);
        if (record.settings.strategy === 'images') {
            const only = await savePlatform(daemon);
            return await saveEntry(backend, record, current, (refs) => daemon.exportImages(refs, only), platform.log, undefined, cacheDeadlineMs(platform.env), jobStatus);
        }
        const outer = new EngineClient(loadEndpoint(s.outer));
        const id = s.containerId;
        // The image is the one the daemon runs: post reads no inputs but job-status, so it comes from the container.
        const image = (await outer.inspectContainer(id))?.image ?? '';
        const prepare = async () => {
            await pruneForSnapshot(daemon, record.settings.buildCacheBytes ?? SNAPSHOT_BUILD_CACHE_BYTES, platform.log);
            await stopCleanly(outer, id);
        };
        const place = { ...snapshotPlace(outer, s, image, platform), volumes: record.settings.volumes };
        return await saveEntry(backend, record, current, () => snapshotDataRoot(place), platform.log, prepare, cacheDeadlineMs(platform.env), jobStatus);
    }
    catch (e) {
        platform.log.warning(`setup-dind cache: could not save (${e.message}).`);
        return 'not saved: an error';
    }
}
/** main, after a data-root restore: one warning when the daemon's image store does not see the restored images. */
async function warnStoreMismatch(s, daemon, info, platform) {
    try {
        if (!s.outer || !s.containerId)
            return;
        const outer = new EngineClient(loadEndpoint(s.outer));
        const repositories = classicRepositories(await readSmall(await outer.archiveIfExists(s.containerId, '/var/lib/docker/image/overlay2/repositories.json')));
        const warning = storeMismatch({ store: info.imageStore, driver: info.storageDriver, classicRepositories: repositories, imagesListed: (await daemon.listImages()).length });
        if (warning)
            platform.log.warning(warning);
    }
    catch (e) {
        platform.log.debug(`setup-dind cache: could not compare the restored data root with the daemon's image store (${e.message})`);
    }
}
/**
 * data-root: dockerd must have shut down by itself (exit code 0) before its data root is archived. A daemon killed
 * after the grace period, or one that is still running, may have left its databases half-written: no snapshot.
 */
async function stopCleanly(outer, id) {
    await outer.stopContainer(id, STOP_GRACE_SECONDS);
    const c = await outer.inspectContainer(id);
    if (!c)
        throw new Error("the daemon's container is gone, so there is no data root to save");
    if (c.running)
        throw new Error(`the daemon is still running after the stop request (state: ${c.status}); its data root is not saved`);
    if (c.exitCode !== 0) {
        const how = c.exitCode === 137 ? `it was killed after ${STOP_GRACE_SECONDS} s` : `it exited with code ${c.exitCode}`;
        throw new Error(`the daemon did not shut down cleanly (${how}); a snapshot of its data root could be inconsistent, so it is not saved`);
    }
}
/** post: the image cache saved when it changed (then the older entries of its key pruned), and the dind image. */
async function saveCaches(s, platform, jobStatus) {
    if (s.cache && s.ready && s.endpoint) {
        const message = await platform.group('Image cache', () => saveImageCache(s.cache, s, platform, jobStatus));
        platform.log.info(`setup-dind cache: ${message}.`);
        // saveEntry's message for a new entry starts with "saved ".
        if (message.startsWith('saved '))
            await pruneAfterSave(s.cache, platform);
    }
    if (s.dindImage && s.outer && s.ready)
        platform.log.info(`setup-dind cache: ${await saveDindImage(new EngineClient(loadEndpoint(s.outer)), s.dindImage, platform)}.`);
}

;// CONCATENATED MODULE: ./src/cache/outputs.ts
function cacheOutputs(record) {
    return {
        'cache-hit': record?.hit === 'true' ? 'true' : 'false',
        'cache-matched-key': record?.restoredKey ?? '',
        'cache-key': record?.key ?? '',
    };
}

;// CONCATENATED MODULE: ./src/builder/buildx.ts
// buildx: true. A docker-container builder on the job's daemon that already has the job's registry mirrors and
// CA certificates (the buildkitd.toml of registry/buildkit.ts), exported as BUILDX_BUILDER, so that
// `docker buildx build` goes through the mirror with no further step. Its BuildKit image is made present on the
// job's daemon through the engine client first (pulled through the daemon's own mirrors and certificates, so no
// anonymous Docker Hub pull from the builder); the builder itself is created and removed by the docker CLI's buildx
// plugin, as docker/setup-buildx-action does: buildx keeps its builders in its own store on the runner, which no
// engine API call can fill. Without the image, or without the plugin, main fails with what to do.



const buildx_run = (0,external_node_util_.promisify)(external_node_child_process_namespaceObject.execFile);
class BuilderError extends Error {
}
/** The builder's name: one per job session (buildx names allow letters, digits, '-' and '_'). */
const builderName = (session) => `setup-dind-${session.replace(/[^a-zA-Z0-9_-]+/g, '-')}`.slice(0, 63);
/** `docker buildx create` for the job's builder. */
function createArgs(name, settings, buildkitdConfig) {
    return [
        'buildx', 'create', '--name', name, '--driver', 'docker-container', '--driver-opt', `image=${settings.image}`,
        ...(buildkitdConfig ? ['--buildkitd-config', buildkitdConfig] : []),
        '--bootstrap',
    ];
}
/** The environment that points the docker CLI at the job's daemon. */
function cliEnvironment(base, endpoint) {
    const env = {};
    for (const [k, v] of Object.entries(base))
        if (v !== undefined && !k.startsWith('DOCKER_'))
            env[k] = v;
    if (base.DOCKER_CONFIG)
        env.DOCKER_CONFIG = base.DOCKER_CONFIG;
    return { ...env, ...clientEnvironment(endpoint) };
}
/** The builder image on the job's daemon: present, or pulled through its mirrors; else a BuilderError that says what to do. */
async function ensureBuilderImage(daemon, settings) {
    try {
        if (await daemon.imageExists(settings.image))
            return 'present';
        await daemon.pullImage(settings.image);
        return 'pulled';
    }
    catch (e) {
        throw new BuilderError(`buildx: the builder image ${settings.image} could not be had on the job's daemon (${e.message}). ` +
            'The docker-container builder runs BuildKit from that image: let the daemon pull it (registry-mirrors with a mirror ' +
            'that has it, or a registry it reaches with registry-certs), or set buildx-image to an image you provide; or remove ' +
            "buildx (DOCKER_BUILDKIT=1 docker build uses the daemon's own BuildKit, with the same mirrors and certificates).");
    }
}
const firstLines = (e) => {
    const err = e;
    return (err.stderr || err.message).trim().split('\n').filter((l) => l.trim()).slice(0, 2).join(' ');
};
/** Creates the builder with the buildx plugin; no docker CLI, no plugin or a failed create is a BuilderError. */
async function createBuilder(name, settings, buildkitdConfig, env) {
    try {
        await buildx_run('docker', ['buildx', 'version'], { env, timeout: 30_000 });
    }
    catch (e) {
        if (e.code === 'ENOENT')
            throw new BuilderError('buildx: there is no docker CLI on this runner; buildx needs it with its buildx plugin (docker/setup-buildx-action installs one), or remove buildx');
        throw new BuilderError(`buildx: the docker CLI has no buildx plugin (docker buildx version: ${firstLines(e)}); install it (docker/setup-buildx-action does) or remove buildx`);
    }
    try {
        await buildx_run('docker', [...createArgs(name, settings, buildkitdConfig)], { env, timeout: 180_000 });
    }
    catch (e) {
        throw new BuilderError(`buildx: docker buildx create failed (${firstLines(e)})`);
    }
}
/** post: removes the builder (its container, and its entry in buildx's store); never throws. */
async function removeBuilder(name, env) {
    try {
        await buildx_run('docker', ['buildx', 'rm', name], { env, timeout: 60_000 });
        return undefined;
    }
    catch (e) {
        const err = e;
        return (err.stderr || err.message).trim().split('\n').at(-1);
    }
}

;// CONCATENATED MODULE: ./src/builder/apply.ts
// buildx through the phases: main makes the builder image present and creates the builder (recorded in state the
// moment it is asked for), post removes it while the daemon still runs.


/** main: the builder, or nothing when buildx is false. A BuilderError fails the step. */
async function applyBuilder(settings, platform, state, daemon, endpoint, buildkitdConfig) {
    if (!settings)
        return { outputs: { 'buildx-builder': '' }, facts: {} };
    const image = await ensureBuilderImage(daemon, settings);
    const name = builderName(state.value.session);
    state.update({ builder: name });
    await createBuilder(name, settings, buildkitdConfig, cliEnvironment(platform.env, endpoint));
    platform.exportVariable('BUILDX_BUILDER', name);
    platform.log.info(`setup-dind: buildx builder ${name} (docker-container, ${settings.image} ${image}) is ready; BUILDX_BUILDER=${name}.`);
    return { outputs: { 'buildx-builder': name }, facts: { 'buildx builder': `${name} (${settings.image}${buildkitdConfig ? ', the registry settings in its buildkitd.toml' : ''})` } };
}
/** post: removes the builder the state names; a failure is a note (the daemon's removal takes its container too). */
async function undoBuilder(s, platform) {
    if (!s.builder || !s.endpoint)
        return;
    const problem = await removeBuilder(s.builder, cliEnvironment(platform.env, loadEndpoint(s.endpoint)));
    if (problem)
        platform.log.info(`setup-dind: docker buildx rm ${s.builder}: ${problem}`);
    else
        platform.log.info(`setup-dind: removed the buildx builder ${s.builder}.`);
}

;// CONCATENATED MODULE: ./src/dockercli/tar-reader.ts
// Reading a tar stream (what the engine's archive endpoint answers) in-process: ustar headers, with the PAX ('x')
// and GNU ('L', 'K') long-name records Go's archive/tar writes. No program is spawned and nothing is extracted
// unless the caller names a destination for the entry: the caller decides where (if anywhere) each entry goes.

const BLOCK = 512;
const tar_reader_text = (b) => {
    const end = b.indexOf(0);
    return b.subarray(0, end < 0 ? b.length : end).toString('utf8');
};
function octal(b) {
    // Base-256 (GNU) for values that do not fit in octal digits: the high bit of the first byte is set.
    if (b[0] & 0x80)
        return b.subarray(1).reduce((n, byte) => n * 256 + byte, b[0] & 0x7f);
    const digits = tar_reader_text(b).trim();
    return digits ? parseInt(digits, 8) : 0;
}
/** "len key=value\n" records of a PAX extended header. */
function paxRecords(data) {
    const records = {};
    let offset = 0;
    while (offset < data.length) {
        const space = data.indexOf(0x20, offset);
        const length = Number(data.subarray(offset, space).toString('ascii'));
        if (space < 0 || !Number.isInteger(length) || length <= 0)
            break;
        const record = data.subarray(space + 1, offset + length - 1).toString('utf8');
        const eq = record.indexOf('=');
        if (eq > 0)
            records[record.slice(0, eq)] = record.slice(eq + 1);
        offset += length;
    }
    return records;
}
function typeOf(flag) {
    if (flag === '0' || flag === '\0' || flag === '' || flag === '7')
        return 'file';
    if (flag === '5')
        return 'directory';
    if (flag === '2')
        return 'symlink';
    return 'other';
}
/** The reader's position in the stream: content still to come, padding to skip, what the content goes to. */
class TarReader {
    destination;
    entries = [];
    ended = false;
    pending = Buffer.alloc(0);
    remaining = 0;
    skip = 0;
    sink;
    collecting;
    overrides = {};
    constructor(destination) {
        this.destination = destination;
    }
    get incomplete() {
        return this.remaining > 0 || this.sink !== undefined;
    }
    async push(chunk) {
        if (this.ended)
            return;
        this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
        while (await this.step())
            ;
    }
    async close() {
        await this.sink?.close();
        this.sink = undefined;
    }
    /** Consumes what it can; false when it needs more data (or the archive ended). */
    async step() {
        if (this.remaining > 0) {
            const n = Math.min(this.remaining, this.pending.length);
            const part = this.pending.subarray(0, n);
            if (this.sink)
                await this.sink.write(part);
            this.collecting?.parts.push(Buffer.from(part));
            this.remaining -= n;
            this.pending = this.pending.subarray(n);
            if (this.remaining > 0)
                return false;
            await this.entryDone();
        }
        if (this.skip > 0) {
            const n = Math.min(this.skip, this.pending.length);
            this.skip -= n;
            this.pending = this.pending.subarray(n);
            if (this.skip > 0)
                return false;
        }
        if (this.pending.length < BLOCK)
            return false;
        const header = this.pending.subarray(0, BLOCK);
        this.pending = this.pending.subarray(BLOCK);
        if (header.every((b) => b === 0)) {
            this.ended = true;
            return false;
        }
        await this.header(header);
        return true;
    }
    async entryDone() {
        await this.close();
        const c = this.collecting;
        if (!c)
            return;
        this.collecting = undefined;
        const data = Buffer.concat(c.parts);
        if (c.kind === 'x') {
            const pax = paxRecords(data);
            if (pax.path)
                this.overrides.name = pax.path;
            if (pax.linkpath)
                this.overrides.linkname = pax.linkpath;
            if (pax.size)
                this.overrides.size = Number(pax.size);
        }
        else if (c.kind === 'L')
            this.overrides.name = tar_reader_text(data);
        else
            this.overrides.linkname = tar_reader_text(data);
    }
    async header(header) {
        const flag = String.fromCharCode(header[156]);
        const prefix = header.subarray(257, 262).toString('ascii') === 'ustar' ? tar_reader_text(header.subarray(345, 500)) : '';
        const size = this.overrides.size ?? octal(header.subarray(124, 136));
        this.remaining = size;
        this.skip = (BLOCK - (size % BLOCK)) % BLOCK;
        if (flag === 'x' || flag === 'L' || flag === 'K') {
            this.collecting = { kind: flag, parts: [] };
            if (size === 0)
                await this.entryDone();
            return;
        }
        if (flag === 'g')
            return; // a global PAX header: nothing the caller needs
        const name = tar_reader_text(header.subarray(0, 100));
        const entry = {
            name: this.overrides.name ?? (prefix ? `${prefix}/${name}` : name),
            type: typeOf(flag),
            size,
            mode: octal(header.subarray(100, 108)) & 0o7777,
            linkname: this.overrides.linkname ?? tar_reader_text(header.subarray(157, 257)),
        };
        this.overrides = {};
        this.entries.push(entry);
        const target = this.destination(entry);
        if (target && entry.type === 'file') {
            this.sink = await (0,promises_namespaceObject.open)(target, 'wx', entry.mode & 0o755);
            if (size === 0)
                await this.close();
        }
    }
}
/**
 * Reads the whole tar stream. `destination` is asked once per entry (directories and links included): a path
 * makes a regular file's content go to a new file there (its mode from the entry, at most 0755; an existing file is
 * an error, never overwritten); undefined skips it. Resolves with every entry read.
 */
async function readTar(stream, destination) {
    const reader = new TarReader(destination);
    try {
        for await (const chunk of stream)
            await reader.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    }
    finally {
        await reader.close();
    }
    if (reader.incomplete || !reader.ended)
        throw new Error('the archive ended in the middle of an entry');
    return reader.entries;
}

;// CONCATENATED MODULE: ./src/dockercli/copy.ts
// The docker CLI and its CLI plugins out of the dind image, through the engine's archive endpoint (no download, no
// program run): read from the daemon's own container, written into a directory of the job's. Symlinks (a plugin
// that points at a binary elsewhere in the image) are followed inside the container.



/** Where dind images keep the docker CLI: the official image in /usr/local/bin, Debian and Alpine packages in /usr/bin. */
const CLI_PATHS = ['/usr/local/bin/docker', '/usr/bin/docker', '/bin/docker'];
/** The docker CLI's system plugin directories on Linux, in its order of preference. */
const PLUGIN_DIRS = ['/usr/local/lib/docker/cli-plugins', '/usr/local/libexec/docker/cli-plugins', '/usr/lib/docker/cli-plugins', '/usr/libexec/docker/cli-plugins'];
/** A CLI plugin's file name (docker-<name>, the name lower-case letters and digits). */
const PLUGIN_FILE = /^docker-[a-z][a-z0-9]*$/;
const MAX_LINKS = 8;
/** The file or symlink `path` names in the container, written to `dest`; its container path, or undefined when absent. */
async function copyFile(engine, id, path, dest, hops = 0) {
    const archive = await engine.archiveIfExists(id, path);
    if (!archive)
        return undefined;
    // The archive of one path holds one top-level entry, named after it.
    const entries = await readTar(archive, (e) => (e.type === 'file' && !e.name.includes('/') ? dest : undefined));
    const top = entries.find((e) => !e.name.replace(/\/$/, '').includes('/'));
    if (top?.type === 'file')
        return path;
    if (top?.type === 'symlink' && hops < MAX_LINKS)
        return copyFile(engine, id, external_node_path_.posix.resolve(external_node_path_.posix.dirname(path), top.linkname), dest, hops + 1);
    throw new Error(`${path} in the image is ${top ? `a ${top.type}${top.type === 'symlink' ? ` (more than ${MAX_LINKS} links deep)` : ''}` : 'an empty archive'}, not a program`);
}
/** The plugins of one directory that are not taken yet, copied into `pluginDir`. */
async function copyPluginDir(engine, id, dir, pluginDir, taken) {
    const archive = await engine.archiveIfExists(id, dir);
    if (!archive)
        return;
    const fileOf = (name) => {
        const m = /^[^/]+\/([^/]+)$/.exec(name);
        return m && PLUGIN_FILE.test(m[1]) && !(m[1].slice('docker-'.length) in taken) ? m[1] : undefined;
    };
    const entries = await readTar(archive, (e) => {
        const file = e.type === 'file' ? fileOf(e.name) : undefined;
        return file ? (0,external_node_path_.join)(pluginDir, file) : undefined;
    });
    for (const e of entries) {
        const file = fileOf(e.name);
        if (!file || (e.type !== 'file' && e.type !== 'symlink'))
            continue;
        const source = `${dir}/${file}`;
        const found = e.type === 'file' ? source : await copyFile(engine, id, external_node_path_.posix.resolve(dir, e.linkname), (0,external_node_path_.join)(pluginDir, file), 1);
        if (found)
            taken[file.slice('docker-'.length)] = source;
    }
}
/**
 * Copies the image's docker CLI to `dir`/docker and its plugins to `dir`/cli-plugins/docker-<name>, from the
 * container `id` (created or running). Throws when the image has no docker CLI.
 */
async function copyClient(engine, id, dir, image) {
    await (0,promises_namespaceObject.mkdir)((0,external_node_path_.join)(dir, 'cli-plugins'), { recursive: true, mode: 0o755 });
    let cli;
    for (const path of CLI_PATHS) {
        if (await copyFile(engine, id, path, (0,external_node_path_.join)(dir, 'docker'))) {
            cli = path;
            break;
        }
    }
    if (!cli) {
        throw new Error(`the image ${image} has no docker CLI (looked for ${CLI_PATHS.join(', ')}); use an image that ships it (the official docker:<version>-dind does), or remove the input client`);
    }
    const plugins = {};
    for (const d of PLUGIN_DIRS)
        await copyPluginDir(engine, id, d, (0,external_node_path_.join)(dir, 'cli-plugins'), plugins);
    return { cli, plugins };
}

;// CONCATENATED MODULE: ./src/dockercli/apply.ts
// client through the phases: main copies the dind image's docker CLI and plugins into a directory of the job's and
// puts it on PATH; the docker CLI looks for plugins in its config directory and the system directories, never next
// to itself, so the plugin directory goes into config.json's cliPluginsExtraDirs (which it searches first). Both
// are recorded in state before they exist; post takes our directory out of config.json again (the rest of the file
// as the job left it) and removes the directory.







const CONFIG_KEY = 'cliPluginsExtraDirs';
async function readConfigText(path) {
    try {
        return await (0,promises_namespaceObject.readFile)(path, 'utf8');
    }
    catch (e) {
        if (e.code === 'ENOENT')
            return null;
        throw e;
    }
}
const extraDirs = (config) => (Array.isArray(config[CONFIG_KEY]) ? config[CONFIG_KEY].filter((d) => typeof d === 'string') : []);
/** Puts `pluginDir` first in config.json's cliPluginsExtraDirs (the config directory is created when missing). */
async function addPluginDir(configDir, pluginDir, record) {
    const path = (0,external_node_path_.join)(configDir, 'config.json');
    const text = await readConfigText(path);
    const config = parseDockerConfig(text ?? '', path);
    record({ configDir, pluginDir, fileExisted: text !== null, dirExisted: (0,external_node_fs_.existsSync)(configDir) });
    await (0,promises_namespaceObject.mkdir)(configDir, { recursive: true, mode: 0o700 });
    await (0,promises_namespaceObject.writeFile)(path, `${JSON.stringify({ ...config, [CONFIG_KEY]: [pluginDir, ...extraDirs(config).filter((d) => d !== pluginDir)] }, null, 2)}\n`, { mode: 0o600 });
}
/** Takes `pluginDir` out of config.json again; a file that then holds nothing and did not exist before goes. */
async function removePluginDir(r) {
    const path = (0,external_node_path_.join)(r.configDir, 'config.json');
    const text = await readConfigText(path);
    if (text === null)
        return;
    const config = parseDockerConfig(text, path);
    const rest = extraDirs(config).filter((d) => d !== r.pluginDir);
    const { [CONFIG_KEY]: _ours, ...others } = config;
    const next = rest.length ? { ...others, [CONFIG_KEY]: rest } : others;
    if (!r.fileExisted && Object.keys(next).length === 0) {
        await (0,promises_namespaceObject.rm)(path, { force: true });
        // The directory too, when we made it and nothing else went into it since.
        if (!r.dirExisted)
            await (0,promises_namespaceObject.rmdir)(r.configDir).catch(() => undefined);
    }
    else {
        await (0,promises_namespaceObject.writeFile)(path, `${JSON.stringify(next, null, 2)}\n`);
    }
}
/**
 * main (dind), as soon as the daemon's container exists: starts copying the image's CLI and plugins (recorded in
 * state first) while the daemon boots. `finish` runs after the docker context is handed over: the plugin directory
 * goes into config.json after the context's own change, so post can take it out first.
 */
function startClient(platform, state, image) {
    const outer = state.value?.outer;
    if (!outer)
        throw new Error('client: the dind container was not started');
    return startClientWith(platform, state, image, new EngineClient(loadEndpoint(outer)));
}
/** startClient on a given engine (the outer one, which runs the daemon's container). */
function startClientWith(platform, state, image, engine) {
    const s = state.value;
    if (!s.jobDir || !s.containerId)
        throw new Error('client: the dind container was not started');
    const dir = (0,external_node_path_.join)(s.jobDir, 'client');
    state.update({ client: { dir } });
    const started = performance.now();
    const copying = copyClient(engine, s.containerId, dir, image).then((copied) => ({ copied, took: ((performance.now() - started) / 1000).toFixed(2) }));
    copying.catch(() => undefined); // reported by finish; a main that fails earlier leaves the directory to post
    return {
        async finish() {
            const { copied, took } = await copying;
            const plugins = Object.keys(copied.plugins).sort();
            if (plugins.length) {
                await addPluginDir(dockerConfigDir(platform.env), (0,external_node_path_.join)(dir, 'cli-plugins'), (config) => state.update({ client: { dir, config } }));
            }
            platform.addPath(dir);
            const what = `the docker CLI of ${image} (${copied.cli})${plugins.length ? ` with the plugins ${plugins.join(', ')}` : ', no CLI plugins in the image'}`;
            platform.log.info(`setup-dind: ${what} in ${dir} (copied in ${took} s, while the daemon started), first on PATH for the next steps.`);
            return { 'docker CLI': `${copied.cli} of the image${plugins.length ? `, plugins ${plugins.join(', ')}` : ''}, in ${dir}` };
        },
    };
}
/** post: config.json without our plugin directory, and the directory removed. Problems are warnings. */
async function undoClient(s, platform) {
    if (!s.client)
        return;
    if (s.client.config) {
        await removePluginDir(s.client.config).catch((e) => platform.log.warning(`setup-dind: could not take ${s.client.config.pluginDir} out of ${(0,external_node_path_.join)(s.client.config.configDir, 'config.json')}: ${e.message}`));
    }
    await (0,promises_namespaceObject.rm)(s.client.dir, { recursive: true, force: true });
}

;// CONCATENATED MODULE: ./src/state.ts
const KEY = 'setup-dind';
class StateRecorder {
    store;
    current;
    constructor(store) {
        this.store = store;
        const text = store.get(KEY);
        if (text) {
            try {
                this.current = JSON.parse(text);
            }
            catch {
                throw new Error(`the saved state of an earlier phase is not valid JSON (${text.slice(0, 80)}); was the action's state edited?`);
            }
        }
    }
    get value() {
        return this.current;
    }
    /** Starts a new record (pre, or main when pre did not run). */
    begin(initial) {
        this.current = { ...initial };
        this.store.set(KEY, JSON.stringify(this.current));
        return this.current;
    }
    update(patch) {
        if (!this.current)
            throw new Error('state.update before state.begin');
        this.current = { ...this.current, ...patch };
        this.store.set(KEY, JSON.stringify(this.current));
        return this.current;
    }
}

;// CONCATENATED MODULE: ./src/dockercli/context.ts
// The docker context "setup-dind": the job's daemon in the docker CLI's context store ($DOCKER_CONFIG or
// $HOME/.docker), so `docker --context setup-dind` reaches it whatever DOCKER_HOST says. Made the current context
// (config.json's currentContext) when DOCKER_HOST is not exported: with set-host false, and in container jobs, where
// the GitHub runner runs the host's `docker exec` for every later step with that step's environment (an exported
// DOCKER_HOST would send the runner's own `docker exec` to the job's daemon; the CLI inside the job container reads
// its own config directory, which the host's CLI never does). Post removes the context and puts config.json back.







const CONTEXT_NAME = 'setup-dind';
/** The config directory is missing, or holds nothing but a setup-dind context (another job's, created the same way). */
function onlyOurs(configDir) {
    if (!(0,external_node_fs_.existsSync)(configDir))
        return true;
    const id = contextId(CONTEXT_NAME);
    const list = (dir) => ((0,external_node_fs_.existsSync)(dir) ? (0,external_node_fs_.readdirSync)(dir) : []);
    const top = list(configDir);
    return top.length === 1 && top[0] === 'contexts' && list((0,external_node_path_.join)(configDir, 'contexts')).every((d) => d === 'meta' || d === 'tls') &&
        ['meta', 'tls'].every((d) => list((0,external_node_path_.join)(configDir, 'contexts', d)).every((e) => e === id));
}
async function readConfig(configPath) {
    let before = null;
    try {
        before = await (0,promises_namespaceObject.readFile)(configPath, 'utf8');
    }
    catch (e) {
        if (e.code !== 'ENOENT')
            throw e;
    }
    if (!before?.trim())
        return { before, config: {} };
    try {
        return { before, config: JSON.parse(before) };
    }
    catch (e) {
        throw new Error(`${configPath} is not valid JSON (${e.message}); the docker context cannot be made current`);
    }
}
/** Writes the context (meta.json and TLS files); with makeCurrent also config.json's currentContext. Recorded first. */
async function installDockerContext(configDir, endpoint, options, record) {
    const configPath = (0,external_node_path_.join)(configDir, 'config.json');
    const { before, config } = options.makeCurrent ? await readConfig(configPath) : { before: null, config: {} };
    const host = formatAddress(endpoint.address);
    record({ configDir, configBefore: before, madeCurrent: options.makeCurrent, host, ...(onlyOurs(configDir) ? { createdConfigDir: true } : {}) });
    const id = contextId(CONTEXT_NAME);
    const meta = {
        Name: CONTEXT_NAME,
        Metadata: { Description: "this job's Docker daemon (setup-dind)" },
        Endpoints: { docker: { Host: host, SkipTLSVerify: false } },
    };
    await (0,promises_namespaceObject.mkdir)((0,external_node_path_.join)(configDir, 'contexts', 'meta', id), { recursive: true, mode: 0o700 });
    await (0,promises_namespaceObject.writeFile)((0,external_node_path_.join)(configDir, 'contexts', 'meta', id, 'meta.json'), JSON.stringify(meta));
    if (endpoint.tlsCertPath) {
        const tlsDir = (0,external_node_path_.join)(configDir, 'contexts', 'tls', id, 'docker');
        await (0,promises_namespaceObject.mkdir)(tlsDir, { recursive: true, mode: 0o700 });
        for (const f of TLS_FILES)
            await writeFileNoWindow((0,external_node_path_.join)(tlsDir, f), await (0,promises_namespaceObject.readFile)((0,external_node_path_.join)(endpoint.tlsCertPath, f)), f === 'key.pem' ? 0o600 : 0o644);
    }
    if (options.makeCurrent)
        await (0,promises_namespaceObject.writeFile)(configPath, `${JSON.stringify({ ...config, currentContext: CONTEXT_NAME }, null, 2)}\n`, { mode: 0o600 });
}
async function removeDockerContext(r) {
    const id = contextId(CONTEXT_NAME);
    if (r.host && !(await stillOurs((0,external_node_path_.join)(r.configDir, 'contexts', 'meta', id, 'meta.json'), r.host))) {
        // Another job of this user wrote the context since: it is that job's to remove (config.json is still ours).
        if (r.madeCurrent !== false)
            await restoreConfig(r);
        return;
    }
    await (0,promises_namespaceObject.rm)((0,external_node_path_.join)(r.configDir, 'contexts', 'meta', id), { recursive: true, force: true });
    await (0,promises_namespaceObject.rm)((0,external_node_path_.join)(r.configDir, 'contexts', 'tls', id), { recursive: true, force: true });
    // The folders of the store, when nothing else is in them (the context was the first in this config directory).
    for (const dir of ['contexts/meta', 'contexts/tls', 'contexts'])
        await (0,promises_namespaceObject.rmdir)((0,external_node_path_.join)(r.configDir, dir)).catch(() => undefined);
    if (r.madeCurrent !== false)
        await restoreConfig(r);
    if (r.createdConfigDir)
        await (0,promises_namespaceObject.rmdir)(r.configDir).catch(() => undefined);
}
async function restoreConfig(r) {
    const configPath = (0,external_node_path_.join)(r.configDir, 'config.json');
    if (r.configBefore === null)
        await (0,promises_namespaceObject.rm)(configPath, { force: true });
    else
        await (0,promises_namespaceObject.writeFile)(configPath, r.configBefore);
}
async function stillOurs(metaPath, host) {
    try {
        return JSON.parse(await (0,promises_namespaceObject.readFile)(metaPath, 'utf8')).Endpoints?.docker?.Host === host;
    }
    catch {
        return true; // gone or unreadable: removing it again is harmless
    }
}
/**
 * Hands the daemon to the job's steps: DOCKER_HOST and friends (set-host true; the context is there too, not
 * current), or only the current docker context (set-host false, and container jobs). Messages go to `log`.
 */
async function context_handOver(how, endpoint, env, io) {
    const configDir = dockerConfigDir(env);
    if (how === 'environment') {
        for (const [name, value] of Object.entries(clientEnvironment(endpoint)))
            io.exportVariable(name, value);
        // The context is a convenience here: a config directory the action cannot write must not fail the job.
        await installDockerContext(configDir, endpoint, { makeCurrent: false }, io.record).catch((e) => io.warning(`setup-dind: the docker context "${CONTEXT_NAME}" could not be created in ${configDir} (${e.message}); DOCKER_HOST is exported, so the docker CLI reaches the daemon anyway.`));
        return `DOCKER_HOST is exported; the docker context "${CONTEXT_NAME}" in ${configDir} names the same daemon`;
    }
    await installDockerContext(configDir, endpoint, { makeCurrent: true }, io.record);
    const overriding = ['DOCKER_HOST', 'DOCKER_CONTEXT'].filter((name) => env[name]?.trim());
    if (overriding.length) {
        io.warning(`setup-dind: the docker context "${CONTEXT_NAME}" is now current in ${configDir}, but ${overriding.join(' and ')} ${overriding.length > 1 ? 'are' : 'is'} set in the job's environment ` +
            `and the docker CLI prefers ${overriding.length > 1 ? 'them' : 'it'}: unset ${overriding.join(' and ')} for later steps, or use set-host: true.`);
    }
    return `the docker CLI uses the current context "${CONTEXT_NAME}" in ${configDir} (DOCKER_HOST is not exported)`;
}

;// CONCATENATED MODULE: ./src/inputs/guards.ts
// Two checks at the start of a phase: the runner's operating system (Linux only), and whether main got the same
// inputs as pre. The runner evaluates pre's inputs before any step has run, so a value from `steps.*`, from a
// variable an earlier step wrote to GITHUB_ENV, or from a file the checkout brings is empty (or different) there.


/** One message (with the remedy) for every phase on a runner that is not Linux; undefined on Linux. */
function unsupportedPlatform(os) {
    if (os === 'linux')
        return undefined;
    const name = { darwin: 'macOS', win32: 'Windows' }[os] ?? os;
    return (`setup-dind runs on Linux runners only, and this runner is ${name}: there is no Linux engine here to start or reach a ` +
        'daemon the way it needs. Run this job on a Linux runner (runs-on: ubuntu-latest, or a self-hosted Linux runner); ' +
        'jobs on other systems can reach a Linux daemon with the docker CLI (docker context or DOCKER_HOST) without this action.');
}
/** Inputs that do not shape what pre starts: main and post read them for themselves. */
const NOT_COMPARED = ['wait-timeout', 'job-status'];
/** Environment the daemon takes from the job (dind passes the proxies on). */
const COMPARED_ENV = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'DOCKER_HOST', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH'];
const digest = (value) => (0,external_node_crypto_.createHash)('sha256').update(value).digest('hex').slice(0, 16);
/**
 * Digests (never the values: some are secrets) of what pre started with: every input that shapes the daemon and
 * the environment it reads.
 */
function startDigests(platform) {
    const out = {};
    for (const name of Object.keys(INPUT_DEFAULTS)) {
        if (!NOT_COMPARED.includes(name))
            out[name] = digest(platform.input(name));
    }
    for (const name of COMPARED_ENV)
        out[`env ${name}`] = digest(platform.env[name] ?? '');
    return out;
}
/** The names (inputs, or "env NAME") whose values differ between pre and now. */
function changedSince(before, now) {
    if (!before)
        return [];
    return Object.keys(now).filter((k) => k in before && before[k] !== now[k]);
}
function restartNotice(changed) {
    const inputs = changed.filter((c) => !c.startsWith('env ')).map((c) => `"${c}"`);
    const env = changed.filter((c) => c.startsWith('env ')).map((c) => c.slice(4));
    const what = [inputs.length ? `input${inputs.length > 1 ? 's' : ''} ${inputs.join(', ')}` : '', env.length ? `the environment variable${env.length > 1 ? 's' : ''} ${env.join(', ')}` : '']
        .filter(Boolean)
        .join(' and ');
    return (`setup-dind: ${what} had a different value when pre started the daemon (pre runs before any step, so values from steps.*, ` +
        'from GITHUB_ENV or from checked-out files are empty there). The daemon pre started is removed and started again with the values main sees; ' +
        "the head start of pre is lost. Give these inputs values known when the job starts (literals, vars.*, secrets.*, matrix.*, the job's env) to keep it.");
}

;// CONCATENATED MODULE: ./src/phases.ts
// The three phases of a job as plain functions over a platform: pre starts the daemon early, main waits until it
// answers and hands it to the job, post removes what the job created. Entry points only pick the platform.





















/** Not Linux: the phase ends at once with one message (an error in pre and main, a warning in post). */
function endsOnThisPlatform(platform, options, report) {
    const problem = unsupportedPlatform(options.os ?? process.platform);
    if (!problem)
        return false;
    if (report === 'fail')
        platform.fail(problem);
    else
        platform.log.warning(problem);
    return true;
}
/**
 * The engine of a phase: located on first use, then the same for the whole phase (the reaper, the mode's start and
 * its attach). Lazily, because main after pre in dind mode needs none: it talks to the engine pre recorded in state.
 */
function phaseEngine(inputs, platform) {
    let located;
    return () => (located ??= locateEngine(inputs, platform.env));
}
function daemonMode(inputs, platform, state, engine, options) {
    if (inputs.mode !== 'dind')
        return existingDaemon(inputs, engine, state, options.clock);
    return dindDaemon(inputs, platform, state, engine, {
        readProcStatus: options.readProcStatus ?? (() => (0,promises_namespaceObject.readFile)('/proc/self/status', 'utf8')),
        socketGroup: options.socketGroup ?? (() => process.getgid?.() ?? 0),
        beforeStart: inputs.cache?.strategy === 'data-root' ? restoreDataRoot(inputs, platform, state) : undefined,
        seed: inputs.cache?.strategy === 'data-root' ? seedDataRoot(inputs, platform, state) : undefined,
        helperScript: options.helperScript,
    });
}
/** Parses inputs, or fails the step with every problem at once and returns undefined. */
function readInputs(platform) {
    try {
        return parseInputs((name) => platform.input(name), { workspace: platform.job.workspace });
    }
    catch (e) {
        if (!(e instanceof InputError))
            throw e;
        platform.fail(`${e.message}\nNothing was started.`);
        return undefined;
    }
}
async function startDaemon(inputs, platform, state, engine, options, reuseSession) {
    // Certificates that exist already (inline, or outside the workspace) are checked before anything starts.
    const problems = await checkRegistryEarly(inputs, platform.job.workspace);
    if (problems.length)
        throw new InputError(problems);
    const session = reuseSession ?? newSessionId(platform.job);
    state.begin({ session, mode: inputs.mode, startedWith: startDigests(platform) });
    if (inputs.cleanupStaleMs !== undefined) {
        const removed = await reapStale(new EngineClient(checkedEndpoint(engine())), inputs.cleanupStaleMs, session, platform.log);
        platform.log.info(`setup-dind cleanup-stale: ${removed.length ? `removed ${removed.join(', ')}` : 'nothing older than the threshold'}.`);
    }
    await daemonMode(inputs, platform, state, engine, options).start();
}
async function runPre(platform, options = {}) {
    if (endsOnThisPlatform(platform, options, 'fail'))
        return;
    const inputs = readInputs(platform);
    if (!inputs)
        return;
    const state = new StateRecorder(platform.state);
    const started = performance.now();
    try {
        await startDaemon(inputs, platform, state, phaseEngine(inputs, platform), options);
        platform.log.info(`setup-dind: ${inputs.mode} daemon starting (${Math.round(performance.now() - started)} ms); main waits for it.`);
    }
    catch (e) {
        if (e instanceof InputError)
            platform.fail(`${e.message}\nNothing was started.`);
        else
            platform.fail(`setup-dind could not start the daemon: ${e.message}`);
    }
}
async function runMain(platform, options = {}) {
    if (endsOnThisPlatform(platform, options, 'fail'))
        return;
    const inputs = readInputs(platform);
    if (!inputs)
        return;
    const state = new StateRecorder(platform.state);
    const clock = options.clock ?? realClock;
    const mainStarted = clock.now();
    const engine = phaseEngine(inputs, platform);
    try {
        if (!state.value) {
            // pre did not run (a composite action, or pre was skipped): start now.
            await startDaemon(inputs, platform, state, engine, options);
        }
        else {
            const changed = changedSince(state.value.startedWith, startDigests(platform));
            if (changed.length) {
                // Never ignored silently: what pre started goes, and main's values start a new daemon (same session id).
                platform.log.warning(restartNotice(changed));
                const report = await cleanupSession(state.value, platform.log);
                if (report.warnings.length)
                    throw new Error(`the daemon pre started could not be removed for the restart (${report.warnings.join('; ')})`);
                await startDaemon(inputs, platform, state, engine, options, state.value.session);
            }
        }
        const waitStarted = clock.now();
        const daemon = await daemonMode(inputs, platform, state, engine, options).attach();
        // The image's CLI is copied out of the daemon's container while the daemon boots.
        const clientCopy = inputs.client ? startClient(platform, state, inputs.dind.image) : undefined;
        const client = new EngineClient(daemon.internal ?? daemon.endpoint);
        const target = `the ${inputs.mode} daemon at ${daemon.internal ? new EngineClient(daemon.endpoint).description : client.description}`;
        // wait-timeout covers the whole wait: time spent waiting for TLS files (external) is part of it.
        const { ready, info } = await waitForDaemon(inputs, daemon, client, target, { timeoutMs: inputs.waitTimeoutMs, startedAt: waitStarted }, platform, clock);
        // Taken when the daemon answered: certificates and the image cache below are not part of the wait.
        const waitSeconds = (clock.now() - mainStarted) / 1000;
        const bootSeconds = state.value?.startRequestedAt ? (Date.now() - state.value.startRequestedAt) / 1000 : undefined;
        const { probe, moreEnv, registry, cache } = await checkAndPrepare(inputs, platform, state, daemon, client, ready.version.arch);
        if (cache?.settings.strategy === 'data-root' && cache.restoredKey)
            await warnStoreMismatch(state.value, client, info, platform);
        state.update({ ready: true });
        const builder = await applyBuilder(inputs.builder, platform, state, client, daemon.endpoint, registry.outputs['buildkitd-config'] ?? '');
        const outputs = {
            'docker-host': formatAddress(daemon.endpoint.address),
            'daemon-version': ready.version.version,
            'api-version': ready.version.apiVersion,
            'storage-driver': info.storageDriver,
            'ready-seconds': waitSeconds.toFixed(3),
            ...daemon.outputs,
            ...registry.outputs,
            ...cacheOutputs(cache),
            ...builder.outputs,
        };
        for (const [name, value] of Object.entries(outputs))
            platform.setOutput(name, value);
        await handToJob(daemon, outputs['docker-host'], inputs, platform, state, moreEnv);
        // After the docker context: post takes our plugin directory out of config.json before the context restores it.
        const clientFacts = (await clientCopy?.finish()) ?? {};
        platform.log.info(`setup-dind: ${target} is ready (Docker ${ready.version.version}, ${storageName(info)}) after waiting ${waitSeconds.toFixed(2)} s.`);
        await platform.appendSummary(summaryTable('setup-dind', {
            Mode: inputs.mode,
            ...daemon.facts,
            ...registry.facts,
            ...(cache ? { 'Image cache': cacheFact(cache) } : {}),
            ...builder.facts,
            ...clientFacts,
            'DOCKER_HOST': `\`${outputs['docker-host']}\``,
            'Docker version': `${ready.version.version} (API ${ready.version.apiVersion})`,
            'Storage driver': storageName(info),
            ...(bootSeconds !== undefined ? { 'Boot to ready': `${bootSeconds.toFixed(2)} s` } : {}),
            ...(probe ? { 'Container run check': probe === 'pending' ? BACKGROUND_CHECK : `a container started in ${Math.round(probe.ms)} ms` } : {}),
            'Main step waited': `${waitSeconds.toFixed(2)} s`,
        }));
    }
    catch (e) {
        platform.fail(`setup-dind: ${e.message}`);
    }
}
/**
 * Once the daemon answers: the run check (dind without --privileged: 0.6-1 s on a busy 2-core runner, so it runs only
 * where it can fail) side by side with what needs no container run (the port forwarder, registry files, the image
 * cache). The check's verdict comes first: when it fails, main fails with its error, whatever the rest did (all of
 * which is recorded in state for post).
 */
async function checkAndPrepare(inputs, platform, state, daemon, client, arch) {
    // Gated (run-gate.ts), main need not wait for the verdict unless its own work runs containers or lists images.
    const mayLeave = !inputs.cache && !inputs.builder;
    const checking = inputs.mode === 'dind' && state.value?.privilege !== 'privileged'
        ? checkCanRunContainers(client, arch, state.value, platform, mayLeave)
        : Promise.resolve(undefined);
    // The run probe loads and removes an image of its own: the cache's list of the daemon's images waits until it is gone.
    const probeGone = checking.then(() => undefined, () => undefined);
    const preparing = (async () => {
        const moreEnv = (await daemon.afterReady?.()) ?? {};
        const registry = await applyRegistry(inputs, platform, state, () => ensureJobDir(platform.job, state));
        const cache = await prepareImageCache(inputs, platform, state, client, probeGone);
        return { moreEnv, registry, cache };
    })();
    const [checked, prepared] = await Promise.allSettled([checking, preparing]);
    if (checked.status === 'rejected')
        throw checked.reason;
    if (prepared.status === 'rejected')
        throw prepared.reason;
    return { probe: checked.value, ...prepared.value };
}
/** Makes the daemon the job's: DOCKER_HOST and friends, or only a docker context (recorded in state). */
async function handToJob(daemon, dockerHost, inputs, platform, state, moreEnv = {}) {
    const io = {
        exportVariable: (name, value) => platform.exportVariable(name, value),
        record: (dockerContext) => state.update({ dockerContext }),
        warning: (text) => platform.log.warning(text),
    };
    if (state.value?.containerJob) {
        // The runner's own `docker exec` reads DOCKER_HOST from the step environment: use a docker context instead.
        const how = await context_handOver('context', daemon.endpoint, platform.env, io);
        platform.log.info(`setup-dind: this is a container job (${state.value.containerJob}), so DOCKER_HOST is not exported (the runner's own docker exec would use it); ` +
            `${how}. Other tools: export DOCKER_HOST=${dockerHost} inside your run script.`);
    }
    else {
        platform.log.info(`setup-dind: ${await context_handOver(inputs.setHost ? 'environment' : 'context', daemon.endpoint, platform.env, io)}.`);
        for (const [name, value] of Object.entries(moreEnv))
            platform.exportVariable(name, value);
    }
}
async function runPost(platform, options = {}) {
    if (endsOnThisPlatform(platform, options, 'warn'))
        return;
    let state;
    try {
        state = new StateRecorder(platform.state);
    }
    catch (e) {
        platform.log.warning(`setup-dind post: ${e.message}`);
        return;
    }
    const s = state.value;
    if (!s) {
        platform.log.info('setup-dind: nothing to clean up (the action did not start anything in this job).');
        return;
    }
    const started = performance.now();
    try {
        // Post reads only job-status: an input that was invalid earlier must not stop the cleanup.
        const jobStatus = platform.input('job-status').trim().toLowerCase();
        const failed = jobStatus === 'failure' || jobStatus === 'cancelled' || !s.ready;
        if (failed && s.outer && s.containerId) {
            const engine = new EngineClient(loadEndpoint(s.outer));
            const tail = await engine.containerLogs(s.containerId, 200).catch((e) => `(the daemon's log could not be read: ${e.message})`);
            await platform.group(`Docker daemon log (the job ${jobStatus === 'success' ? 'did not reach a ready daemon' : `status is ${jobStatus || 'unknown'}`})`, async () => platform.log.info(tail));
        }
        await undoClient(s, platform).catch((e) => platform.log.warning(`setup-dind: could not remove the docker CLI directory: ${e.message}`));
        if (s.dockerContext) {
            await removeDockerContext(s.dockerContext).catch((e) => platform.log.warning(`Could not remove the docker context "${CONTEXT_NAME}": ${e.message}`));
        }
        // A run check that failed after main had ended: the job's docker commands got its reason; the log says it too.
        const late = lateFailure(s);
        if (late)
            platform.log.error(late);
        // Nothing runs in the background any more: the job's steps are done, and a daemon stopped for a save exits at once.
        const background = await stopBackground(s, platform.log);
        try {
            await undoBuilder(s, platform);
            await saveCaches(s, platform, jobStatus);
            const restored = await undoRegistry(s.hostChanges, platform.log, s.endpoint ? reloadedTo(new EngineClient(loadEndpoint(s.endpoint))) : undefined);
            if (restored.length)
                platform.log.info(`setup-dind: restored ${restored.join(', ')}.`);
        }
        finally {
            // Whatever happened to the cache save or the host files, the daemon and its objects are removed.
            const report = await cleanupSession(s, platform.log, background);
            state.update({ cleanedUp: true });
            const took = ((performance.now() - started) / 1000).toFixed(2);
            if (report.removed.length)
                platform.log.info(`setup-dind: removed ${report.removed.join(', ')} in ${took} s.`);
            else
                platform.log.info(`setup-dind: nothing of this job's was left to remove (${took} s).`);
        }
    }
    catch (e) {
        platform.log.warning(`setup-dind post: ${e.message}`);
    }
}
function summaryTable(title, rows) {
    const escape = (s) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
    return `### ${title}\n\n| | |\n|---|---|\n${Object.entries(rows).map(([k, v]) => `| ${escape(k)} | ${escape(v)} |`).join('\n')}\n\n`;
}

;// CONCATENATED MODULE: ./src/platform/github-commands.ts
// GitHub Actions workflow commands, the few the action issues, written directly: @actions/core loads an HTTP client
// (undici) at start-up for OIDC tokens the action never asks for, and every phase of every job paid for parsing it.
// The formats are the runner's (the same bytes @actions/core writes): `::name prop=value::message` lines on stdout,
// and `name<<delimiter` records in the files GITHUB_OUTPUT, GITHUB_ENV and GITHUB_STATE name.




const escapeData = (s) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const escapeProperty = (s) => escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
/** `::command prop=value,...::message`, escaped as the runner expects. */
function formatCommand(command, properties, message) {
    const props = Object.entries(properties).filter(([, v]) => v).map(([k, v]) => `${k}=${escapeProperty(v)}`).join(',');
    return `::${command}${props ? ` ${props}` : ''}::${escapeData(message)}`;
}
function issueCommand(command, properties, message) {
    process.stdout.write(formatCommand(command, properties, message) + external_node_os_.EOL);
}
/** A `name<<delimiter` record; the random delimiter must not occur in the name or the value. */
function keyValueRecord(name, value) {
    const delimiter = `ghadelimiter_${(0,external_node_crypto_.randomUUID)()}`;
    if (name.includes(delimiter) || value.includes(delimiter))
        throw new Error(`Unexpected input: ${name} contains the delimiter "${delimiter}"`);
    return `${name}<<${delimiter}${external_node_os_.EOL}${value}${external_node_os_.EOL}${delimiter}`;
}
/**
 * Writes `name=value` to the runner's file for `kind` (OUTPUT, ENV, STATE); without such a file (an old runner), the
 * stdout command `fallback` does it.
 */
function fileCommand(env, kind, fallback, name, value) {
    const file = env[`GITHUB_${kind}`];
    if (!file) {
        if (kind === 'OUTPUT')
            process.stdout.write(external_node_os_.EOL);
        issueCommand(fallback, { name }, value);
        return;
    }
    if (!(0,external_node_fs_.existsSync)(file))
        throw new Error(`Missing file at path: ${file}`);
    (0,external_node_fs_.appendFileSync)(file, `${keyValueRecord(name, value)}${external_node_os_.EOL}`, { encoding: 'utf8' });
}
const setOutput = (env, name, value) => fileCommand(env, 'OUTPUT', 'set-output', name, value);
const saveState = (env, name, value) => fileCommand(env, 'STATE', 'save-state', name, value);
function exportVariable(env, name, value) {
    // Later code in this process sees it too, as with @actions/core.
    process.env[name] = value;
    fileCommand(env, 'ENV', 'set-env', name, value);
}
/** GITHUB_PATH: `dir` goes first on PATH for later steps (and for this process, as with @actions/core). */
function addPath(env, dir) {
    process.env.PATH = `${dir}:${process.env.PATH ?? ''}`;
    const file = env.GITHUB_PATH;
    if (!file) {
        issueCommand('add-path', {}, dir);
        return;
    }
    if (!(0,external_node_fs_.existsSync)(file))
        throw new Error(`Missing file at path: ${file}`);
    (0,external_node_fs_.appendFileSync)(file, `${dir}${external_node_os_.EOL}`, { encoding: 'utf8' });
}
async function appendSummary(env, markdown) {
    const file = env.GITHUB_STEP_SUMMARY;
    if (!file)
        throw new Error('Unable to find environment variable for $GITHUB_STEP_SUMMARY. Check if your runtime environment supports job summaries.');
    try {
        (0,external_node_fs_.accessSync)(file, external_node_fs_.constants.R_OK | external_node_fs_.constants.W_OK);
    }
    catch {
        throw new Error(`Unable to access summary file: '${file}'. Check if the file has correct read/write permissions.`);
    }
    await (0,promises_namespaceObject.appendFile)(file, markdown, { encoding: 'utf8' });
}
async function group(title, fn) {
    issueCommand('group', {}, title);
    try {
        return await fn();
    }
    finally {
        issueCommand('endgroup', {}, '');
    }
}

;// CONCATENATED MODULE: ./src/platform/github-caches.ts
// GitHub's REST API for the Actions cache (list and delete entries), with the job's token. fetch only: no
// dependency, and nothing is loaded unless a job with a cache saved an entry.

const PAGE = 100;
/** At most this many pages are read (1000 entries of one prefix on one ref is far more than a quota holds). */
const MAX_PAGES = 10;
const TIMEOUT_MS = 30_000;
/** The inventory for this job, or undefined without the API's address, the repository, the ref or a token. */
function githubCacheInventory(env, token) {
    const api = env.GITHUB_API_URL?.replace(/\/+$/, '');
    const repository = env.GITHUB_REPOSITORY;
    const ref = env.GITHUB_REF;
    const secret = token.trim();
    if (!api || !repository || !ref || !secret || /[\r\n]/.test(secret))
        return undefined;
    const base = `${api}/repos/${repository.split('/').map(encodeURIComponent).join('/')}/actions/caches`;
    async function call(method, url) {
        let response;
        try {
            response = await fetch(url, {
                method,
                headers: { Authorization: `Bearer ${secret}`, Accept: 'application/vnd.github+json', 'X-GitHub-Api-Version': '2022-11-28', 'User-Agent': 'setup-dind' },
                signal: AbortSignal.timeout(TIMEOUT_MS),
            });
        }
        catch (e) {
            throw new CacheApiError(0, `${method} ${url} got no answer (${e.message})`);
        }
        const text = await response.text();
        if (!response.ok) {
            let message = text.slice(0, 200);
            try {
                message = JSON.parse(text).message ?? message;
            }
            catch {
                // not JSON: the text itself
            }
            throw new CacheApiError(response.status, `${method} ${url.replace(/\?.*/, '')}: HTTP ${response.status} ${message}`);
        }
        return text ? JSON.parse(text) : undefined;
    }
    return {
        name: "GitHub's cache API",
        ref,
        async list(prefix) {
            const found = [];
            for (let page = 1; page <= MAX_PAGES; page++) {
                const query = new URLSearchParams({ key: prefix, ref, sort: 'created_at', direction: 'desc', per_page: String(PAGE), page: String(page) });
                const body = (await call('GET', `${base}?${query}`));
                const caches = body?.actions_caches ?? [];
                for (const c of caches)
                    found.push({ id: c.id, key: c.key, ref: c.ref, createdAt: c.created_at, sizeBytes: c.size_in_bytes });
                if (caches.length < PAGE)
                    break;
            }
            return found;
        },
        async remove(id) {
            await call('DELETE', `${base}/${id}`);
        },
    };
}

;// CONCATENATED MODULE: ./src/platform/github.ts
// GitHub Actions: workflow commands (written directly, github-commands.ts) and the cache service (@actions/cache,
// loaded only when a job uses the cache).




/** What @actions/cache's isFeatureAvailable checks, without loading it: a cache service URL from the runner. */
const cacheServiceAvailable = (env) => Boolean(env.ACTIONS_RESULTS_URL || env.ACTIONS_CACHE_URL);
/**
 * GitHub's cache service through @actions/cache. The library (and the Azure SDK under it) is loaded only when a job
 * uses the cache: it is most of the bundle, and every phase of every job would otherwise pay for parsing it.
 */
const githubCacheService = {
    name: "GitHub's cache service",
    async restore(paths, primaryKey, restoreKeys) {
        const cache = await __nccwpck_require__.e(/* import() */ 305).then(__nccwpck_require__.bind(__nccwpck_require__, 4305));
        return cache.restoreCache(paths, primaryKey, restoreKeys);
    },
    async save(paths, key) {
        const cache = await __nccwpck_require__.e(/* import() */ 305).then(__nccwpck_require__.bind(__nccwpck_require__, 4305));
        try {
            const id = await cache.saveCache(paths, key);
            return id === -1 ? { outcome: 'failed', detail: 'see the message above (another job may be saving this key)' } : { outcome: 'saved' };
        }
        catch (e) {
            if (e instanceof cache.ReserveCacheError)
                return { outcome: 'exists', detail: e.message };
            return { outcome: 'failed', detail: e.message };
        }
    },
};
/**
 * The job's ref: GITHUB_REF_NAME and GITHUB_REF_PROTECTED; a pull request's base branch and the repository's default
 * branch (from the event payload) are the refs it may fall back to, as GitHub's cache service lets it.
 */
function githubRef(env) {
    let defaultBranch = '';
    try {
        const event = JSON.parse((0,external_node_fs_.readFileSync)(env.GITHUB_EVENT_PATH ?? '', 'utf8'));
        if (typeof event.repository?.default_branch === 'string')
            defaultBranch = event.repository.default_branch;
    }
    catch {
        // no payload (outside Actions): no default branch to fall back to
    }
    const name = env.GITHUB_REF_NAME ?? '';
    const fallbacks = [env.GITHUB_BASE_REF ?? '', defaultBranch].filter((r, i, all) => r && r !== name && all.indexOf(r) === i);
    return { name, protected: env.GITHUB_REF_PROTECTED === 'true', fallbacks };
}
function githubPlatform(env = process.env) {
    let ref;
    return {
        name: 'github',
        log: {
            info: (m) => void process.stdout.write(`${m}${external_node_os_.EOL}`),
            warning: (m) => issueCommand('warning', {}, m),
            error: (m) => issueCommand('error', {}, m),
            debug: (m) => issueCommand('debug', {}, m),
            notice: (m) => issueCommand('notice', {}, m),
        },
        state: {
            get: (key) => env[`STATE_${key}`] ?? '',
            set: (key, value) => saveState(env, key, value),
        },
        job: {
            runId: env.GITHUB_RUN_ID ?? 'local',
            runAttempt: env.GITHUB_RUN_ATTEMPT ?? '1',
            job: env.GITHUB_JOB ?? 'job',
            name: env.GITHUB_JOB ?? 'job',
            // The environment has no matrix: the input "matrix" has the default ${{ toJSON(matrix) }}, which the runner
            // evaluates with the job's matrix context (action.yml input defaults may use github, strategy, matrix, job, runner).
            matrix: env.INPUT_MATRIX ?? '',
            get ref() {
                return (ref ??= githubRef(env));
            },
            tempDir: env.RUNNER_TEMP ?? '/tmp',
            workspace: env.GITHUB_WORKSPACE ?? process.cwd(),
        },
        env,
        // Not core.getInput: it trims, and multi-line inputs (certificates, argument lists) keep their layout here.
        input: (name) => env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '',
        setOutput: (name, value) => setOutput(env, name, value),
        exportVariable: (name, value) => exportVariable(env, name, value),
        addPath: (dir) => addPath(env, dir),
        mask: (secret) => issueCommand('add-mask', {}, secret),
        group: (title, fn) => group(title, fn),
        appendSummary: async (markdown) => {
            if (!env.GITHUB_STEP_SUMMARY)
                return;
            await appendSummary(env, markdown);
        },
        cacheService: () => (cacheServiceAvailable(env) ? githubCacheService : undefined),
        // The token input (default: the job's GITHUB_TOKEN) is read here only, at post, and never kept in state.
        cacheInventory: () => (cacheServiceAvailable(env) ? githubCacheInventory(env, env.INPUT_TOKEN ?? '') : undefined),
        fail: (message) => {
            process.exitCode = 1;
            issueCommand('error', {}, message);
        },
    };
}

;// CONCATENATED MODULE: ./src/entrypoints/index.ts
// The one bundle the action's three phases share (dist/setup-dind.js): each phase's generated dist/<phase>/index.js
// imports it and runs its function.




/** The processes pre (or main) leave running: the run check and the port forwarder are the phase's entry with a flag. */
const helper = () => {
    if (process.argv[2] === RUN_CHECK_FLAG)
        return runRunCheck(process.argv[3] ?? '');
    if (process.argv[2] === FORWARDER_FLAG)
        return runForwarder(process.argv[3] ?? '');
    return undefined;
};
const pre = () => helper() ?? runPre(githubPlatform(), { helperScript: process.argv[1] });
const main = () => helper() ?? runMain(githubPlatform());
const post = () => runPost(githubPlatform());

var __webpack_exports__main = __webpack_exports__.iW;
var __webpack_exports__post = __webpack_exports__.bE;
var __webpack_exports__pre = __webpack_exports__.AS;
export { __webpack_exports__main as main, __webpack_exports__post as post, __webpack_exports__pre as pre };
