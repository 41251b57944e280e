import { describe, expect, it } from 'vitest';
import { splitArguments } from './inputs/inputs.js';
import { RESERVED_DAEMON_FLAGS, parseDaemonArgs } from './daemon-args.js';

const parse = (text: string) => parseDaemonArgs(splitArguments(text));
const flagsOf = (text: string) => parse(text).flags.map((f) => (f.value === undefined ? f.name : `${f.name}=${f.value}`));

describe('daemon-args is read the way dockerd (pflag) reads it', () => {
  // [what the user wrote, the flags dockerd would see]
  const table: [string, string[]][] = [
    ['--mtu=1400', ['mtu=1400']],
    ['--mtu 1400', ['mtu=1400']],
    ['--debug --mtu 1400', ['debug', 'mtu=1400']],
    ['-D', ['debug']],
    ['-D=false', ['debug=false']],
    ['-l debug', ['log-level=debug']],
    ['-ldebug', ['log-level=debug']],
    ['-l=debug', ['log-level=debug']],
    ['-Dl debug', ['debug', 'log-level=debug']],
    ['-Dldebug', ['debug', 'log-level=debug']],
    ['--label -H', ['label=-H']], // a value flag takes the next argument whatever it looks like
    ['-s overlay2 --storage-opt overlay2.size=1G', ['storage-driver=overlay2', 'storage-opt=overlay2.size=1G']],
    ['--iptables=false --ip6tables=false', ['iptables=false', 'ip6tables=false']],
    ['--some-new-flag value --mtu=1400', ['some-new-flag', 'mtu=1400']], // unknown: the word may be its value
    ['-X', ['X']],
  ];
  for (const [written, flags] of table) {
    it(`${JSON.stringify(written)} -> ${flags.join(' ')}`, () => {
      const parsed = parse(written);
      expect(parsed.problems).toEqual([]);
      expect(flagsOf(written)).toEqual(flags);
    });
  }
});

describe('reserved flags are rejected in every form dockerd accepts, naming the flag and the input meant for it', () => {
  // [what the user wrote, the flag, the input named in the remedy]
  const table: [string, string, RegExp, string?][] = [
    ['--host=tcp://0.0.0.0:2375', '--host (-H)', /input "tcp: true"/],
    ['--host tcp://0.0.0.0:2375', '--host (-H)', /input "tcp: true"/],
    ['-H tcp://0.0.0.0:2375', '--host (-H)', /input "docker-host"/],
    ['-Htcp://0.0.0.0:2375', '--host (-H)', /input "tcp: true"/],
    ['-H=tcp://0.0.0.0:2375', '--host (-H)', /input "tcp: true"/],
    ['-DH tcp://0.0.0.0:2375', '--host (-H)', /input "tcp: true"/],
    ['-DHtcp://0.0.0.0:2375', '--host (-H)', /input "tcp: true"/],
    ['-D -Htcp://0.0.0.0:2375', '--host (-H)', /input "tcp: true"/, '-Htcp://0.0.0.0:2375'],
    ['--debug\n-H\ntcp://0.0.0.0:2375', '--host (-H)', /input "tcp: true"/, '-H tcp://0.0.0.0:2375'],
    ['--some-new-flag -Htcp://0.0.0.0:2375', '--host (-H)', /input "tcp: true"/, '-Htcp://0.0.0.0:2375'], // may be a bool flag: -H is a flag then
    ['-XHtcp://0.0.0.0:2375', '--host (-H)', /input "tcp: true"/], // an unknown letter may be a bool flag too
    ['-G0', '--group (-G)', /runner user's group/],
    ['-G 0', '--group (-G)', /runner user's group/],
    ['--group=root', '--group (-G)', /runner user's group/],
    ['-D -G0', '--group (-G)', /runner user's group/, '-G0'],
    ['-DG0', '--group (-G)', /runner user's group/],
    ['--data-root=/var/lib/other', '--data-root', /input "cache: data-root"/],
    ['--data-root /x', '--data-root', /input "cache: data-root"/],
    ['-g /x', '--graph (-g)', /input "cache: data-root"/],
    ['-g/x', '--graph (-g)', /input "cache: data-root"/],
    ['--graph=/x', '--graph (-g)', /input "cache: data-root"/],
    ['--exec-root /x', '--exec-root', /remove it/],
    ['-p /x.pid', '--pidfile (-p)', /remove it/],
    ['-Dp/x.pid', '--pidfile (-p)', /remove it/],
    ['--pidfile=/x.pid', '--pidfile (-p)', /remove it/],
    ['--tls', '--tls', /input "tcp: true"/],
    ['--tls=false', '--tls', /input "tcp: true"/],
    ['--tlsverify', '--tlsverify', /input "tcp: true"/],
    ['--tlscacert /ca.pem', '--tlscacert', /input "tcp: true"/],
    ['--tlscert=/c.pem', '--tlscert', /input "tcp: true"/],
    ['--tlskey /k.pem', '--tlskey', /input "tcp: true"/],
    ['--config-file=/etc/docker/other.json', '--config-file', /input "daemon-config"/],
    ['-v', '--version (-v)', /exit/],
    ['-Dv', '--version (-v)', /exit/],
    ['-h', '--help (-h)', /exit/],
    ['--validate', '--validate', /exit/],
  ];
  for (const [written, flag, remedy, shows = written] of table) {
    it(JSON.stringify(written), () => {
      const { problems } = parse(written);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toContain('input "daemon-args": ');
      expect(problems[0]).toContain(`sets ${flag}, which is set by the action itself`);
      expect(problems[0]).toMatch(remedy);
      // The problem shows what was written for the flag.
      expect(problems[0]).toContain(`input "daemon-args": ${JSON.stringify(shows)} sets`);
    });
  }

  it('covers each reserved flag by its long name', () => {
    for (const name of Object.keys(RESERVED_DAEMON_FLAGS)) expect(parseDaemonArgs([`--${name}=x`]).problems, name).toHaveLength(1);
  });

  it('reports every reserved flag of one input, not only the first', () => {
    expect(parse('-D -Htcp://0.0.0.0:2375 -G0 --mtu=1400').problems).toHaveLength(2);
  });
});

describe('arguments that are not flags', () => {
  it.each([
    ['rm -rf /', /"rm" is not a dockerd flag/],
    ['--debug extra', /"extra" is not a dockerd flag/],
    ['--', /"--" ends dockerd's flags/],
    ['---x', /is not flag syntax/],
    ['--=x', /is not flag syntax/],
    ['--mtu', /"--mtu" needs a value/],
    ['-H', /needs a value/],
    ['-', /"-" is not a dockerd flag/],
  ])('%j is a problem', (written, message) => {
    expect(parse(written).problems.join('\n')).toMatch(message);
  });
});
