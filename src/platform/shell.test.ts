import { describe, expect, it } from 'vitest';
import { gitlabJobName, gitlabRef } from './shell.js';

describe('GitLab job identity for cache keys', () => {
  it('splits the parallel part off the job name: the job, and what tells its legs apart', () => {
    expect(gitlabJobName('test: [linux, 20]')).toEqual({ name: 'test', matrix: '[linux, 20]' });
    expect(gitlabJobName('build image: [a]')).toEqual({ name: 'build image', matrix: '[a]' });
    expect(gitlabJobName('rspec 2/5')).toEqual({ name: 'rspec', matrix: '2/5' });
    expect(gitlabJobName('lint')).toEqual({ name: 'lint', matrix: '' });
    expect(gitlabJobName('deploy: prod')).toEqual({ name: 'deploy: prod', matrix: '' });
    expect(gitlabJobName('')).toEqual({ name: 'shell', matrix: '' });
  });

  it("takes the ref, its protection, and the merge request's target and the default branch as fallbacks", () => {
    expect(gitlabRef({ CI_COMMIT_REF_NAME: 'feature/x', CI_COMMIT_REF_PROTECTED: 'false', CI_MERGE_REQUEST_TARGET_BRANCH_NAME: 'develop', CI_DEFAULT_BRANCH: 'main' }))
      .toEqual({ name: 'feature/x', protected: false, fallbacks: ['develop', 'main'] });
    expect(gitlabRef({ CI_COMMIT_REF_NAME: 'main', CI_COMMIT_REF_PROTECTED: 'true', CI_DEFAULT_BRANCH: 'main' })).toEqual({ name: 'main', protected: true, fallbacks: [] });
    expect(gitlabRef({})).toEqual({ name: '', protected: false, fallbacks: [] });
  });
});
