import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { interfacesFor, ipv4, networkNameProblem, parseSubnet, rangeProblem } from './networks.js';

describe('network form checks', () => {
  it('check names like the server', () => {
    for (const [name, want] of [['lab', null], ['a_b-c+d.1', null], ['', 'networks.create.nameRequired'],
      ['../x', 'networks.create.nameInvalid'], ['.x', 'networks.create.nameInvalid'], ['a b', 'networks.create.nameInvalid'],
      ['vоl', 'networks.create.nameInvalid'], ['n'.repeat(65), 'networks.create.nameTooLong']]) {
      assert.equal(networkNameProblem(name), want, name);
    }
  });
  it('read subnets and ranges', () => {
    assert.equal(ipv4('192.168.1.256'), null);
    assert.equal(ipv4('10.0.0.1'), 0x0a000001);
    assert.deepEqual(parseSubnet('192.168.100.0/24'), { base: ipv4('192.168.100.0'), bits: 24 });
    assert.equal(parseSubnet('192.168.100.7/24'), 'networks.create.subnetHostBits');
    assert.equal(parseSubnet('10.0.0.0/30'), 'networks.create.subnetPrefix');
    assert.equal(parseSubnet('nope'), 'networks.create.subnetInvalid');
    const s = /** @type {{base: number, bits: number}} */ (parseSubnet('192.168.100.0/24'));
    assert.equal(rangeProblem(s, '192.168.100.2', '192.168.100.254'), null);
    assert.equal(rangeProblem(s, '192.168.100.1', '192.168.100.9'), 'networks.create.rangeGateway');
    assert.equal(rangeProblem(s, '192.168.100.9', '192.168.100.2'), 'networks.create.rangeBackwards');
    assert.equal(rangeProblem(s, '192.168.100.2', '192.168.100.255'), 'networks.create.rangeOutside');
    assert.equal(rangeProblem(s, 'x', '192.168.100.3'), 'networks.create.rangeInvalid');
  });
  it('offer bridges to bridge networks and the rest to direct ones', () => {
    const ifs = [{ name: 'br0', kind: 'bridge' }, { name: 'eth0', kind: 'ethernet' }, { name: 'bond0', kind: 'bond' }];
    assert.deepEqual(interfacesFor('bridge', ifs).map((i) => i.name), ['br0']);
    assert.deepEqual(interfacesFor('direct', ifs).map((i) => i.name), ['eth0', 'bond0']);
    assert.deepEqual(interfacesFor('nat', ifs), []);
  });
});
